"""The inbox: IMAP polling, what inbound mail does, reconciling unknown sends, the model round."""
