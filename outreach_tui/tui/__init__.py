"""The operator console (Textual). It talks to the engine only: no SQL, no sockets."""
