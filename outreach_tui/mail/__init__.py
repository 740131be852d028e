"""Network I/O: SMTP sending, message building (and later IMAP, DNS, probing)."""
