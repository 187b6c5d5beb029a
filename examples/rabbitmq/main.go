// Command rabbitmq is an app for argus's app host that publishes each JSON
// document POSTed to it to a durable RabbitMQ queue, as a persistent
// message, and answers only once the broker has confirmed it (publisher
// confirms), so a 200 means the message is safely queued.
//
// Environment:
//
//	PORT        the loopback port to listen on (set by argus)
//	AMQP_URL    the broker, default amqp://guest:guest@127.0.0.1:5672/
//	AMQP_QUEUE  the queue, declared durable if missing; default argus-example
//
// POST / with a JSON body answers 200 {"queue": ..., "bytes": n} once
// confirmed, 400 if the body is not JSON, and 502 {"error": ...} saying why
// when the broker is down, refuses the message or does not confirm it.
// GET /healthz answers 200 whether or not the broker is up: the app itself
// is healthy, and argus should keep it running to answer 502.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func main() {
	p := &publisher{url: env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"), queue: env("AMQP_QUEUE", "argus-example")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("POST /", p.serveHTTP)
	addr := "127.0.0.1:" + os.Getenv("PORT")
	log.Printf("rabbitmq example listening on %s, publishing to queue %q at %s", addr, p.queue, redact(p.url))
	log.Fatal(http.ListenAndServe(addr, mux))
}

// publisher holds one connection and one channel in confirm mode, opened
// on the first request and again after a failure. Publishes are serialised.
type publisher struct {
	url, queue string
	mu         sync.Mutex
	conn       *amqp.Connection
	ch         *amqp.Channel
}

func (p *publisher) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil || !json.Valid(body) {
		reply(w, http.StatusBadRequest, map[string]any{"error": "the body must be a JSON document of at most 1 MiB"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := p.publish(ctx, body); err != nil {
		log.Print(err)
		reply(w, http.StatusBadGateway, map[string]any{"error": err.Error()})
		return
	}
	reply(w, http.StatusOK, map[string]any{"queue": p.queue, "bytes": len(body)})
}

func (p *publisher) publish(ctx context.Context, body []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == nil || p.ch.IsClosed() {
		if err := p.connect(); err != nil {
			return fmt.Errorf("rabbitmq at %s is unavailable: %w", redact(p.url), err)
		}
	}
	dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, "", p.queue, false, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: amqp.Persistent, Timestamp: time.Now(), Body: body,
	})
	if err == nil {
		var acked bool
		if acked, err = dc.WaitContext(ctx); err == nil && !acked {
			err = errors.New("the broker refused the message (nack)")
		}
	}
	if err != nil {
		p.close() // start afresh at the next request
		return fmt.Errorf("rabbitmq at %s: publish to queue %q: %w", redact(p.url), p.queue, err)
	}
	return nil
}

// connect dials the broker, opens a channel in confirm mode and declares
// the queue durable.
func (p *publisher) connect() error {
	p.close()
	conn, err := amqp.DialConfig(p.url, amqp.Config{Dial: amqp.DefaultDial(3 * time.Second)})
	if err != nil {
		return err
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err == nil {
		_, err = ch.QueueDeclare(p.queue, true, false, false, false, nil)
	}
	if err != nil {
		conn.Close()
		return err
	}
	p.conn, p.ch = conn, ch
	return nil
}

func (p *publisher) close() {
	if p.conn != nil {
		p.conn.Close()
	}
	p.conn, p.ch = nil, nil
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// redact hides the password of an AMQP URL, for messages.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "the configured AMQP_URL"
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
