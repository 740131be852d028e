"""The deliverability guard: watches each mailbox's bounces and complaints, pauses what fails
and walks it back to health, by mode (observe, suggest, enforce).

    monitor         the pass over the window's rates; warnings; campaign/domain correlation
    rates           the rate reads (daily counters) and the campaign breakdown of bounces
    healer          the recovery pipeline: PAUSED → ... → HEALTHY; guard-paused domains
    actions         GuardAction, Outcome, the modes: decisions as values
    actor           carries decisions out by mode; suggestions; the mode switch
    apply           one decision as a compare-and-set, with its event and audit row
    alerts          Alert, the sinks, the Alerter (event + Telegram/Slack)
    alert_channels  Telegram and Slack delivery with retries
    dnscheck        DNS health of the sending domains (core/dnshealth holds the rules)
"""
