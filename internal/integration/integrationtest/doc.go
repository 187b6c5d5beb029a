// Package integrationtest starts the servers the integration tests read
// (memcached, redis-server, nginx, uWSGI, and fakes that misbehave), each
// on a free loopback port with its files in the test's temporary
// directory, stopped by PID when the test ends. Only tests import it. A missing server binary
// fails the test rather than skipping it: CI installs them (.ci/run), and a
// silently skipped test proves nothing. It also compares what a collection
// produced with an exporter's metrics (Shapes), and with the metrics a
// built-in dashboard and the example alert rules query (CheckQueries).
package integrationtest
