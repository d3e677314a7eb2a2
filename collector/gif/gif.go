package gif

import (
	"net/http"
	"strconv"
)

// Pixel is a 1x1 GIF89a whose only pixel is transparent (a graphic control
// extension marks colour 0 transparent): 43 bytes. Do not modify it.
var Pixel = []byte{
	'G', 'I', 'F', '8', '9', 'a', // header
	0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, // 1x1, a global colour table of 2, background 0
	0x00, 0x00, 0x00, 0xff, 0xff, 0xff, // the colour table: black, white
	0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, // graphic control: colour 0 is transparent
	0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image descriptor: 1x1 at 0,0
	0x02, 0x02, 0x44, 0x01, 0x00, // LZW minimum code size 2, one 2-byte block, end
	0x3b, // trailer
}

// Write answers Pixel with status: Content-Type image/gif, its
// Content-Length, and headers that forbid caching it anywhere
// (Cache-Control, and Pragma and Expires for HTTP/1.0 caches). Headers the
// caller set on w before are kept.
func Write(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Content-Type", "image/gif")
	h.Set("Content-Length", strconv.Itoa(len(Pixel)))
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate, private, max-age=0")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "0")
	w.WriteHeader(status)
	w.Write(Pixel)
}
