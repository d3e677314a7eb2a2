// Package webhook serves POST /v1/webhooks/{source}: social and chat
// platforms post their own JSON there, and a per-source mapping file turns
// it into Touchstream events (Social Comment, Chat Started, CSAT Rated, ...)
// with touchpoint social or chat. Mapping files are JSON, one per source,
// loaded with Load (a directory) or LoadFS (such as the shipped mappings
// embedded in package schemas/webhooks); schemas/README.md documents the
// format.
//
// A mapping says where the events are in a body (events_path), how requests
// are authenticated (the write key, as for the Segment API, and optionally an
// HMAC signature header) and, in ordered rules, which items become which
// event and where each field comes from (JSONPath-lite paths such as
// $.user.id or $.items[0].id). Items no rule matches, or whose fields do not
// convert, become dead letters with the reason; their siblings are kept.
// Items without an id get one hashed from the source and the item, so a
// redelivery deduplicates.
//
// Handler hands what it mapped to an Acceptor (the collector), which
// publishes to Kafka and counts the events in the collector's metrics under
// the endpoint /v1/webhooks/{source}.
package webhook
