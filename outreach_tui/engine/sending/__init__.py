"""Sending: the send pipeline, planner and dispatcher, sequences, leases, caps, approval,
campaigns. The bottom wing: the others may import it, it imports none of them."""
