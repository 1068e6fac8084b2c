import json
import os


def handler(event, context):
    """Sends a receipt per settled payment on the receipts queue.

    The real function renders the receipt and mails it from FROM_ADDRESS with a link to
    PUBLIC_URL; this one only logs what it would send.
    """
    records = event.get("Records", [])
    for record in records:
        print(json.dumps({"from": os.environ.get("FROM_ADDRESS"), "payment": record.get("body")}))
    return {"sent": len(records)}
