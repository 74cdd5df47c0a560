// First start of the stack's MongoDB (run once by the image's entrypoint, as the root user of
// MONGO_INITDB_ROOT_*): AIMA's own user, allowed to read and write its database `aima` only.
// The password comes from the environment (MONGO_AIMA_PASSWORD); AIMA_DOCUMENTS_URL carries it.
const password = process.env.MONGO_AIMA_PASSWORD;
if (!password) {
  throw new Error("MONGO_AIMA_PASSWORD is not set: set it in .env");
}
db.getSiblingDB("aima").createUser({
  user: "aima",
  pwd: password,
  roles: [{ role: "readWrite", db: "aima" }],
});
