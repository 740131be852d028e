"""The deliverability guard: monitor, actor, healer, alerts and their channels, DNS checks."""
