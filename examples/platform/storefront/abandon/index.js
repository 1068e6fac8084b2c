// Finds carts that were left without checkout in the carts table's stream and puts a
// CartAbandoned event on the payments bus. The real function batches the events and links to
// the cart at PUBLIC_URL; this one only logs what it would send.
exports.handler = async (event) => {
  const abandoned = (event.Records || []).filter((r) => r.eventName === "REMOVE");
  for (const r of abandoned) {
    console.log(JSON.stringify({ bus: process.env.EVENT_BUS, cart: r.dynamodb && r.dynamodb.Keys }));
  }
  return { abandoned: abandoned.length };
};
