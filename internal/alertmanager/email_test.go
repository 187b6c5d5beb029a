package alertmanager

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/common/model"

	"github.com/argus-mon/argus/internal/state"
)

// smtpMessage is a message the test SMTP server accepted, with how the
// session that sent it was secured.
type smtpMessage struct {
	TLS  bool   // the session was on TLS when DATA came
	User string // the authenticated user
	From string
	To   []string
	Data string
}

// smtpServer is a small SMTP server for tests: EHLO, STARTTLS (or TLS
// from the first byte), AUTH PLAIN and LOGIN (offered only on TLS, as
// real servers do), MAIL, RCPT, DATA, RSET, NOOP, QUIT. MAIL without a
// successful AUTH is refused, so every accepted message was authenticated.
type smtpServer struct {
	addr     string
	tls      *tls.Config
	implicit bool   // TLS from the first byte (port 465 style)
	mechs    string // AUTH mechanisms offered, e.g. "PLAIN LOGIN"
	users    map[string]string

	msgs     chan smtpMessage
	mu       sync.Mutex
	authFail int
	wg       sync.WaitGroup
}

// selfSignedCert returns a certificate for 127.0.0.1 signed by itself, and
// its PEM, which a client takes as its CA file.
func selfSignedCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "argus test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// startSMTP starts a server on a loopback port; it stops at the test's end.
func startSMTP(t *testing.T, cert tls.Certificate, implicit bool, mechs string, users map[string]string) *smtpServer {
	t.Helper()
	s := &smtpServer{
		tls:      &tls.Config{Certificates: []tls.Certificate{cert}},
		implicit: implicit,
		mechs:    mechs,
		users:    users,
		msgs:     make(chan smtpMessage, 10),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	var conns sync.Map
	s.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			s.wg.Go(func() {
				defer conns.Delete(c)
				s.serve(c)
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) authFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFail
}

// serve runs one SMTP session. A protocol error from the client ends it.
func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	onTLS := s.implicit
	if s.implicit {
		c = tls.Server(c, s.tls)
	}
	tp := textproto.NewConn(c)
	var user, from string
	var rcpts []string
	tp.PrintfLine("220 127.0.0.1 ESMTP argus test")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"127.0.0.1 greets " + arg, "8BITMIME"}
			if !onTLS {
				ext = append(ext, "STARTTLS")
			} else if s.mechs != "" {
				ext = append(ext, "AUTH "+s.mechs)
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				tp.PrintfLine("250%s%s", sep, e)
			}
		case "STARTTLS":
			if onTLS {
				tp.PrintfLine("503 5.5.1 TLS already active")
				continue
			}
			tp.PrintfLine("220 2.0.0 Ready to start TLS")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			// RFC 3207: the session starts over on the new channel.
			c, tp, onTLS, user = tc, textproto.NewConn(tc), true, ""
		case "AUTH":
			if !onTLS {
				tp.PrintfLine("538 5.7.11 Encryption required for requested authentication mechanism")
				continue
			}
			u, ok := s.auth(tp, arg)
			if !ok {
				s.mu.Lock()
				s.authFail++
				s.mu.Unlock()
				tp.PrintfLine("535 5.7.8 Authentication credentials invalid")
				continue
			}
			user = u
			tp.PrintfLine("235 2.7.0 Authentication successful")
		case "MAIL":
			if user == "" {
				tp.PrintfLine("530 5.7.0 Authentication required")
				continue
			}
			addr, ok := smtpPath(arg, "FROM:")
			if !ok {
				tp.PrintfLine("501 5.5.4 Syntax: MAIL FROM:<address>")
				continue
			}
			from, rcpts = addr, nil
			tp.PrintfLine("250 2.1.0 Ok")
		case "RCPT":
			addr, ok := smtpPath(arg, "TO:")
			if !ok || from == "" {
				tp.PrintfLine("501 5.5.4 Syntax: RCPT TO:<address>, after MAIL")
				continue
			}
			rcpts = append(rcpts, addr)
			tp.PrintfLine("250 2.1.5 Ok")
		case "DATA":
			if from == "" || len(rcpts) == 0 {
				tp.PrintfLine("503 5.5.1 MAIL and RCPT first")
				continue
			}
			tp.PrintfLine("354 End data with <CR><LF>.<CR><LF>")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.msgs <- smtpMessage{TLS: onTLS, User: user, From: from, To: rcpts, Data: string(data)}
			from, rcpts = "", nil
			tp.PrintfLine("250 2.0.0 Ok: queued")
		case "RSET", "NOOP":
			from, rcpts = "", nil
			tp.PrintfLine("250 2.0.0 Ok")
		case "QUIT":
			tp.PrintfLine("221 2.0.0 Bye")
			return
		default:
			tp.PrintfLine("502 5.5.2 Command not recognized")
		}
	}
}

// smtpPath returns the address of a MAIL or RCPT argument ("FROM:<a@b>
// BODY=8BITMIME"), without its parameters.
func smtpPath(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	path, _, _ := strings.Cut(strings.TrimSpace(arg[len(prefix):]), " ")
	if len(path) < 2 || path[0] != '<' || path[len(path)-1] != '>' {
		return "", false
	}
	return path[1 : len(path)-1], true
}

// auth runs an AUTH exchange and returns the user if the credentials are
// right.
func (s *smtpServer) auth(tp *textproto.Conn, arg string) (string, bool) {
	mech, initial, _ := strings.Cut(arg, " ")
	if !strings.Contains(" "+s.mechs+" ", " "+strings.ToUpper(mech)+" ") {
		return "", false
	}
	// challenge sends a 334 prompt and reads the base64 answer.
	challenge := func(prompt string) (string, bool) {
		tp.PrintfLine("334 %s", base64.StdEncoding.EncodeToString([]byte(prompt)))
		line, err := tp.ReadLine()
		if err != nil {
			return "", false
		}
		b, err := base64.StdEncoding.DecodeString(line)
		return string(b), err == nil
	}
	switch strings.ToUpper(mech) {
	case "PLAIN":
		resp, ok := "", true
		if initial != "" {
			b, err := base64.StdEncoding.DecodeString(initial)
			resp, ok = string(b), err == nil
		} else {
			resp, ok = challenge("")
		}
		// authzid NUL authcid NUL passwd
		parts := strings.Split(resp, "\x00")
		if !ok || len(parts) != 3 {
			return "", false
		}
		pw, known := s.users[parts[1]]
		return parts[1], known && pw == parts[2]
	case "LOGIN":
		u, ok1 := challenge("Username:")
		p, ok2 := challenge("Password:")
		pw, known := s.users[u]
		return u, ok1 && ok2 && known && pw == p
	}
	return "", false
}

// decodedMail is a received message's headers and its decoded HTML part.
type decodedMail struct {
	header mail.Header
	html   string
}

func decodeMail(t *testing.T, data string) decodedMail {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v\n%s", err, data)
	}
	out := decodedMail{header: msg.Header}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v\n%s", err, data)
		}
		// The reader has undone the quoted-printable encoding.
		b, _ := io.ReadAll(p)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			out.html = string(b)
		}
	}
	return out
}

func receiveMail(t *testing.T, s *smtpServer) smtpMessage {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no email arrived")
	}
	return smtpMessage{}
}

// TestEmailTLSAndAuth sends an alert through the upstream email
// integration to a local SMTP server that requires TLS and
// authentication: STARTTLS with the server's certificate as CA file and
// either AUTH mechanism, and TLS from the first byte
// (force_implicit_tls, port 465's behaviour on another port).
func TestEmailTLSAndAuth(t *testing.T) {
	t.Parallel()
	cert, certPEM := selfSignedCert(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		implicit bool
		mechs    string
		tls      string
	}{
		{"starttls plain", false, "PLAIN LOGIN", "{ca_file: '" + caFile + "'}"},
		{"starttls login", false, "LOGIN", "{ca_file: '" + caFile + "'}"},
		{"implicit tls", true, "PLAIN", "{insecure_skip_verify: true}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := startSMTP(t, cert, c.implicit, c.mechs, map[string]string{"argus": "s3cret"})
			cfg := fmt.Sprintf(`
route:
  receiver: mail
  group_by: [alertname]
  group_wait: 50ms
receivers:
  - name: mail
    email_configs:
      - to: oncall@example.org
        from: argus@example.org
        smarthost: '%s'
        auth_username: argus
        auth_password: s3cret
        require_tls: true
        force_implicit_tls: %v
        tls_config: %s
`, srv.addr, c.implicit, c.tls)
			m, _ := startManager(t, Options{}, loadConfig(t, cfg))
			m.Put(context.Background(), model.Alert{
				Labels:      model.LabelSet{"alertname": "DiskFull", "instance": "db1"},
				Annotations: model.LabelSet{"summary": "disk is full"},
			})
			got := receiveMail(t, srv)
			if !got.TLS || got.User != "argus" || got.From != "argus@example.org" || len(got.To) != 1 || got.To[0] != "oncall@example.org" {
				t.Fatalf("session: tls %v user %q from %q to %q", got.TLS, got.User, got.From, got.To)
			}
			msg := decodeMail(t, got.Data)
			if s := msg.header.Get("Subject"); s != "[FIRING:1] DiskFull (db1)" {
				t.Errorf("Subject %q", s)
			}
			if to := msg.header.Get("To"); to != "oncall@example.org" {
				t.Errorf("To %q", to)
			}
			for _, want := range []string{"DiskFull", "instance = db1", "summary = disk is full"} {
				if !strings.Contains(msg.html, want) {
					t.Errorf("HTML body lacks %q:\n%s", want, msg.html)
				}
			}
		})
	}
}

// TestEmailWrongPassword: a refused login is a failed attempt, counted
// per integration and recorded in the history with the server's answer,
// and it delays no other group.
func TestEmailWrongPassword(t *testing.T) {
	t.Parallel()
	cert, _ := selfSignedCert(t)
	srv := startSMTP(t, cert, false, "PLAIN LOGIN", map[string]string{"argus": "s3cret"})
	db, err := state.Open(context.Background(), filepath.Join(t.TempDir(), state.File))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	receiver := func(name, password string) string {
		return `
  - name: ` + name + `
    email_configs:
      - to: ` + name + `@example.org
        from: argus@example.org
        smarthost: '` + srv.addr + `'
        auth_username: argus
        auth_password: ` + password + `
        require_tls: true
        tls_config: {insecure_skip_verify: true}
`
	}
	cfg := `
route:
  receiver: good
  group_by: [alertname]
  group_wait: 50ms
  group_interval: 1s
  routes:
    - matchers: [team="bad"]
      receiver: bad
receivers:` + receiver("good", "s3cret") + receiver("bad", "wrong")
	m, _ := startManager(t, Options{State: db}, loadConfig(t, cfg))
	m.Put(context.Background(),
		model.Alert{Labels: model.LabelSet{"alertname": "X", "team": "bad"}},
		model.Alert{Labels: model.LabelSet{"alertname": "Y"}},
	)
	// The good group is notified while the bad one is still retrying.
	if got := receiveMail(t, srv); got.To[0] != "good@example.org" {
		t.Fatalf("mail to %v", got.To)
	}
	if n := testCounter(m.metrics.failed.WithLabelValues("email", "bad", notify.DefaultReason.String())); n != 0 {
		t.Fatalf("bad receiver gave up before the good one was notified (%v)", n)
	}

	var failed *NotificationEvent
	for deadline := time.Now().Add(10 * time.Second); failed == nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no failed notification in the history")
		}
		evs, err := m.History(context.Background(), HistoryQuery{Kind: EventNotification, Receiver: "bad"})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if !e.Notification.Success {
				failed = e.Notification
			}
		}
	}
	if failed.Integration != "email" || !strings.Contains(failed.Error, "535") || failed.Firing != 1 {
		t.Fatalf("history entry %+v", failed)
	}
	if n := testCounter(m.metrics.requestsFailed.WithLabelValues("email", "bad")); n < 1 {
		t.Fatalf("failed requests to bad: %v", n)
	}
	if srv.authFailures() < 1 {
		t.Fatal("the server saw no failed login")
	}
	// Retries end with the flush (group_interval, at least
	// minNotifyTimeout): then the notification counts as failed.
	for deadline := time.Now().Add(minNotifyTimeout + 10*time.Second); testCounter(m.metrics.failed.WithLabelValues("email", "bad", notify.DefaultReason.String())) == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("failed notification not counted after its retries")
		}
	}
	select {
	case got := <-srv.msgs:
		t.Fatalf("mail accepted without a valid login: %+v", got)
	default:
	}
}
