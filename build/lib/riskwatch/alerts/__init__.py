"""Alerts: tell the people who need to act, once, on the channel they use, and again when resolved.

``conditions`` (pure: reasons vs open conditions -> events per channel), ``facts`` (key figures and
what riskwatch did, from storage), ``messages`` (pure: events -> title, text and the webhook
payload), ``channels`` (Apprise and the signed webhook), ``delivery`` (deadline, retries,
results), ``notify`` (one evaluation: plan, deliver, record), ``watchdog`` (the API's minute
loop). Nothing here is imported unless something is to be sent.
"""
