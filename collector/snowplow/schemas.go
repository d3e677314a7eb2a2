package snowplow

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/touchstream/touchstream/pipeline"
)

// Vendors of the Iglu schemas Snowplow's own trackers and plugins send.
const (
	vendorSnowplow  = "com.snowplowanalytics.snowplow"
	vendorEcommerce = "com.snowplowanalytics.snowplow.ecommerce"
	vendorMobile    = "com.snowplowanalytics.mobile"
)

// ecommerceAction is the schema of the Snowplow e-commerce plugin's events
// (snowplow_ecommerce_action): data.type says which, entities carry the
// products, cart and transaction.
const ecommerceAction = vendorEcommerce + "/snowplow_ecommerce_action"

// Event names of the Segment e-commerce and mobile specs that
// self-describing events are mapped to.
const (
	EventProductRemoved     = "Product Removed"
	EventProductListViewed  = "Product List Viewed"
	EventProductClicked     = "Product Clicked"
	EventPromotionViewed    = "Promotion Viewed"
	EventPromotionClicked   = "Promotion Clicked"
	EventCheckoutStepViewed = "Checkout Step Viewed"
	EventOrderRefunded      = "Order Refunded"
	EventAppInstalled       = "Application Installed"
	EventAppOpened          = "Application Opened"
	EventAppBackgrounded    = "Application Backgrounded"
)

// wellKnownEvents names self-describing events by vendor/name of their
// schema; any other schema's event is named by its schema's name.
var wellKnownEvents = map[string]string{
	vendorSnowplow + "/add_to_cart":            pipeline.EventProductAdded,
	vendorSnowplow + "/remove_from_cart":       EventProductRemoved,
	vendorMobile + "/application_install":      EventAppInstalled,
	vendorSnowplow + "/application_foreground": EventAppOpened,
	vendorSnowplow + "/application_background": EventAppBackgrounded,
}

// screenViews are the schemas of mobile screen views: type screen, named
// by data.name.
var screenViews = map[string]bool{
	vendorMobile + "/screen_view":   true,
	vendorSnowplow + "/screen_view": true,
}

// ecommerceActions names snowplow_ecommerce_action events by data.type;
// checkout_step is Checkout Started for step 1 and Checkout Step Viewed
// after it; another type is named by itself.
var ecommerceActions = map[string]string{
	"product_view":     pipeline.EventProductViewed,
	"add_to_cart":      pipeline.EventProductAdded,
	"remove_from_cart": EventProductRemoved,
	"list_view":        EventProductListViewed,
	"list_click":       EventProductClicked,
	"promo_view":       EventPromotionViewed,
	"promo_click":      EventPromotionClicked,
	"transaction":      pipeline.EventOrderCompleted,
	"refund":           EventOrderRefunded,
}

// mapSelfDescribing sets type, name and the commerce and engagement columns
// of a self-describing event from its schema, its data and its entities.
func mapSelfDescribing(schema iglu, data map[string]json.RawMessage, contexts []selfDescribing, ev *pipeline.Event) {
	key := schema.vendor + "/" + schema.name
	ev.Type, ev.EventName = pipeline.TypeTrack, schema.name
	switch {
	case screenViews[key]:
		ev.Type, ev.EventName = pipeline.TypeScreen, str(data["name"])
	case key == ecommerceAction:
		mapEcommerceAction(data, contexts, ev)
	default:
		if name, ok := wellKnownEvents[key]; ok {
			ev.EventName = name
		}
	}

	// The data's own fields, as collector/normalize.go reads properties;
	// the entities of an e-commerce action came first.
	if ev.Revenue == 0 && ev.Type == pipeline.TypeTrack {
		if v, ok := num(data["revenue"]); ok {
			ev.Revenue = v
		} else if v, ok := num(data["total"]); ok {
			ev.Revenue = v
		}
	}
	if ev.Currency == "" {
		ev.Currency = currency(str(data["currency"]))
	}
	if ev.OrderID == "" {
		ev.OrderID = firstNonEmpty(id(data["order_id"]), id(data["orderId"]))
	}
	if ev.CartID == "" {
		ev.CartID = firstNonEmpty(id(data["cart_id"]), id(data["cartId"]))
	}
	if v, ok := num(data["engagement_time_msec"]); ok && v > 0 {
		ev.EngagementMS = int64(min(v, math.MaxUint32))
	}
}

// mapEcommerceAction names a snowplow_ecommerce_action event and fills the
// order, revenue, cart and currency from its transaction, refund, cart and
// product entities.
func mapEcommerceAction(data map[string]json.RawMessage, contexts []selfDescribing, ev *pipeline.Event) {
	typ := str(data["type"])
	switch name, ok := ecommerceActions[typ]; {
	case typ == "checkout_step":
		var cs struct {
			Step json.RawMessage `json:"step"`
		}
		entityInto(contexts, vendorEcommerce, "checkout_step", &cs)
		ev.EventName = EventCheckoutStepViewed
		if v, ok := num(cs.Step); ok && v == 1 {
			ev.EventName = pipeline.EventCheckoutStarted
		}
	case ok:
		ev.EventName = name
	case typ != "":
		ev.EventName = typ
	}

	var tx struct {
		ID       json.RawMessage `json:"transaction_id"`
		Revenue  json.RawMessage `json:"revenue"`
		Currency json.RawMessage `json:"currency"`
	}
	if entityInto(contexts, vendorEcommerce, "transaction", &tx) {
		ev.OrderID = id(tx.ID)
		if v, ok := num(tx.Revenue); ok && typ == "transaction" {
			ev.Revenue = v
		}
		ev.Currency = currency(str(tx.Currency))
	}
	var refund struct {
		ID       json.RawMessage `json:"transaction_id"`
		Amount   json.RawMessage `json:"refund_amount"`
		Currency json.RawMessage `json:"currency"`
	}
	if entityInto(contexts, vendorEcommerce, "refund", &refund) {
		ev.OrderID = firstNonEmpty(ev.OrderID, id(refund.ID))
		// The refund's amount is the event's revenue, as a Segment Order
		// Refunded carries it (net_orders reads abs(revenue); 0 or none
		// refunds the whole order).
		if v, ok := num(refund.Amount); ok && typ == "refund" {
			ev.Revenue = v
		}
		ev.Currency = firstNonEmpty(ev.Currency, currency(str(refund.Currency)))
	}
	var cart struct {
		ID       json.RawMessage `json:"cart_id"`
		Currency json.RawMessage `json:"currency"`
	}
	if entityInto(contexts, vendorEcommerce, "cart", &cart) {
		ev.CartID = id(cart.ID)
		ev.Currency = firstNonEmpty(ev.Currency, currency(str(cart.Currency)))
	}
	var product struct {
		Currency json.RawMessage `json:"currency"`
	}
	if entityInto(contexts, vendorEcommerce, "product", &product) {
		ev.Currency = firstNonEmpty(ev.Currency, currency(str(product.Currency)))
	}
}

// addEcommerceEntities adds the e-commerce plugin's entities to an
// e-commerce action's properties, as Segment's e-commerce events carry
// them: every product entity's data in "products", each other entity's
// data under its schema's name ("cart", "transaction", "checkout_step",
// ...). A key the event's data already has is left alone.
func addEcommerceEntities(props map[string]any, contexts []selfDescribing) {
	var products []json.RawMessage
	for _, c := range contexts {
		u, _ := parseIglu(c.Schema)
		if u.vendor != vendorEcommerce {
			continue
		}
		if u.name == "product" {
			products = append(products, orNull(c.Data))
			continue
		}
		if _, taken := props[u.name]; !taken {
			props[u.name] = orNull(c.Data)
		}
	}
	if _, taken := props["products"]; !taken && len(products) > 0 {
		props["products"] = products
	}
}

// entityInto decodes the data of the first entity of vendor/name into v,
// and reports whether there was one whose data is an object.
func entityInto(contexts []selfDescribing, vendor, name string, v any) bool {
	for _, c := range contexts {
		if u, ok := parseIglu(c.Schema); ok && u.vendor == vendor && u.name == name {
			return isObject(c.Data) && json.Unmarshal(c.Data, v) == nil
		}
	}
	return false
}

// orNull is raw, or JSON null when there is none.
func orNull(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// str returns raw when it is a JSON string.
func str(raw json.RawMessage) string {
	var s string
	if len(raw) > 0 && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// id returns raw when it is a JSON string, or a number as written.
func id(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return ""
	}
	if c := t[0]; c == '-' || (c >= '0' && c <= '9') {
		return string(t)
	}
	return str(t)
}

// num reads a finite JSON number, or a string holding one.
func num(raw json.RawMessage) (float64, bool) {
	t := bytes.TrimSpace(raw)
	if isNull(t) {
		return 0, false
	}
	s := string(t)
	if t[0] == '"' {
		s = strings.TrimSpace(str(t))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
