// Command hello is the trivial app of tools/appbench: it answers every
// request on 127.0.0.1:$PORT with a 13-byte body.
package main

import (
	"log"
	"net/http"
	"os"
)

func main() {
	body := []byte("Hello, world\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), h))
}
