package integration_test

// BenchmarkCollect is one collection of each type against a local server,
// in this process: what an integration costs before its samples reach
// the scrape loop (no text encoding, parsing or storage). ns/op is wall
// time, most of it waiting for the server; cpu-µs/op is this process's
// CPU time per collection (the server's is not in it).
//
//	go test ./internal/integration -run '^$' -bench Collect -benchtime 2000x -count 6 | tee collect.txt

import (
	"context"
	"syscall"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/argus-mon/argus/internal/config"
	"github.com/argus-mon/argus/internal/integration"
	"github.com/argus-mon/argus/internal/integration/integrationtest"
	"github.com/argus-mon/argus/internal/integration/memcached"
	"github.com/argus-mon/argus/internal/integration/nginx"
	"github.com/argus-mon/argus/internal/integration/postgres"
	"github.com/argus-mon/argus/internal/integration/probe"
	"github.com/argus-mon/argus/internal/integration/rabbitmq"
	"github.com/argus-mon/argus/internal/integration/redis"
	"github.com/argus-mon/argus/internal/integration/uwsgi"
)

func BenchmarkCollect(b *testing.B) {
	cases := []struct {
		name  string
		newFn integration.NewFunc
		cfg   func(b *testing.B) config.Integration
	}{
		{"postgres", postgres.New, func(b *testing.B) config.Integration {
			return config.Integration{DSN: commoncfg.Secret(integrationtest.Postgres(b).DSN())}
		}},
		{"redis", redis.New, func(b *testing.B) config.Integration {
			return config.Integration{Address: integrationtest.Redis(b)}
		}},
		{"memcached", memcached.New, func(b *testing.B) config.Integration {
			return config.Integration{Address: integrationtest.Memcached(b)}
		}},
		{"nginx", nginx.New, func(b *testing.B) config.Integration {
			return config.Integration{Address: integrationtest.StartNginx(b).StubStatus}
		}},
		{"probe", probe.New, func(b *testing.B) config.Integration {
			return config.Integration{Address: "http://" + integrationtest.StartNginx(b).Addr + "/api/probe",
				Module: "http_2xx", ProbeModule: config.BuiltinProbeModules()["http_2xx"]}
		}},
		{"rabbitmq", rabbitmq.New, func(b *testing.B) config.Integration {
			return config.Integration{Address: integrationtest.RabbitMQ(b, false).Management}
		}},
		{"uwsgi", uwsgi.New, func(b *testing.B) config.Integration {
			return config.Integration{Address: integrationtest.StartUwsgi(b).Stats}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			cfg := c.cfg(b)
			cfg.Name, cfg.Type = "bench", c.name
			in := integrationtest.NewInstance(b, cfg, c.newFn)
			ctx := context.Background()
			// The first collection connects.
			if _, err := in.GatherContext(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := processCPU(b)
			for b.Loop() {
				if _, err := in.GatherContext(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU returns this process's user and system CPU time.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
