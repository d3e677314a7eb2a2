package testenv

import (
	"io"
	"net/http"
	"testing"
)

func TestServicesStart(t *testing.T) {
	base := ClickHouse(t)
	res, err := http.Get(base + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "Ok.\n" {
		t.Fatalf("ping: %q", b)
	}
	if ClickHouse(t) != base {
		t.Error("a second call started another server")
	}
	if a, b := Kafka(t, 2), Kafka(t, 2); a == b || a == "" {
		t.Errorf("kafka addresses %q %q", a, b)
	}
}
