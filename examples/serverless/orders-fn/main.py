import json
import os


def handler(event, context):
    """Answers the order API; the real service reads and writes ORDERS_TABLE."""
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"table": os.environ.get("ORDERS_TABLE"), "path": event.get("rawPath")}),
    }
