"""Stripe's webhook, as the example deploys it: it answers 200 and does nothing else.

The real receiver verifies the Stripe-Signature header against STRIPE_SIGNING_SECRET and
publishes each settled payment on SETTLED_TOPIC; this one verifies and publishes nothing.
"""
import json
import os


def handler(event, context):
    """Acknowledges the event so that Stripe does not retry it."""
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"received": True, "topic": os.environ.get("SETTLED_TOPIC")}),
    }
