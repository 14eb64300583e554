package alerts_test

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// unitFile, testGroup, inputSeries, alertTest and expAlert are promtool's
// unit test file format.
type unitFile struct {
	RuleFiles          []string    `yaml:"rule_files"`
	EvaluationInterval string      `yaml:"evaluation_interval"`
	Tests              []testGroup `yaml:"tests"`
}

type testGroup struct {
	Name           string        `yaml:"name"`
	Interval       string        `yaml:"interval"`
	InputSeries    []inputSeries `yaml:"input_series"`
	AlertRuleTests []alertTest   `yaml:"alert_rule_test"`
}

type inputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

type alertTest struct {
	EvalTime  string     `yaml:"eval_time"`
	Alertname string     `yaml:"alertname"`
	ExpAlerts []expAlert `yaml:"exp_alerts"`
}

type expAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

// The server and operator every scenario's series belong to.
const (
	namespace  = "shop"
	server     = "events-websocket-server"
	serverSel  = `namespace="shop",service="events-websocket-server"`
	deployment = `namespace="shop",deployment="events-websocket-server",job="kube-state-metrics"`
	webhook    = "/validate-apps-deployment"
)

// scenario is one alert's expected behaviour: it fires just above
// threshold (for counters, on any increase) once it has held for forMin
// minutes, and never at the threshold.
type scenario struct {
	build     func(suite, scenario) []testGroup
	alert     string
	severity  string
	threshold int
	forMin    int
}

// suite holds what the expected alerts need from the rule file under test.
type suite struct {
	// annotations are each alert's annotations, as the rule file has them.
	annotations map[string]map[string]string
	// absent are the labels of DashStreamServerDown when no series exists.
	absent map[string]string
}

func (s suite) groups(scenarios []scenario) []testGroup {
	var out []testGroup
	for _, sc := range scenarios {
		out = append(out, sc.build(s, sc)...)
	}

	return out
}

// firesAfterFor expects sc's alert, with labels, to be silent one minute
// before activeAt+forMin and to fire at that minute. activeAt is the first
// minute the expression holds.
func (s suite) firesAfterFor(sc scenario, name string, in []inputSeries, activeAt int,
	labels map[string]string) testGroup {
	exp := expAlert{ExpLabels: maps.Clone(labels), ExpAnnotations: s.annotations[sc.alert]}
	exp.ExpLabels["severity"] = sc.severity
	fire := activeAt + sc.forMin

	return testGroup{
		Name: sc.alert + ": " + name, Interval: "1m", InputSeries: in,
		AlertRuleTests: []alertTest{
			{EvalTime: minutes(fire - 1), Alertname: sc.alert},
			{EvalTime: minutes(fire), Alertname: sc.alert, ExpAlerts: []expAlert{exp}},
		},
	}
}

// silent expects sc's alert never to fire, checked well after its for.
func (s suite) silent(sc scenario, name string, in []inputSeries) testGroup {
	return testGroup{
		Name: sc.alert + ": " + name, Interval: "1m", InputSeries: in,
		AlertRuleTests: []alertTest{{EvalTime: minutes(2*sc.forMin + 5), Alertname: sc.alert}},
	}
}

func minutes(m int) string { return fmt.Sprintf("%dm", m) }

// steps is how many samples after the first each series holds.
func steps(sc scenario) int { return 2*sc.forMin + 10 }

// series is a series whose value starts at start and grows by step a minute.
func series(sc scenario, selector string, start, step int) inputSeries {
	return inputSeries{Series: selector, Values: fmt.Sprintf("%d%+dx%d", start, step, steps(sc))}
}

func serverLabels(extra ...string) map[string]string {
	l := map[string]string{"namespace": namespace, "service": server}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}

	return l
}

func lagHigh(s suite, sc scenario) []testGroup {
	sel := "websocket_kafka_lag_offset_age_seconds{" + serverSel + `,partition="0"}`
	quiet := "websocket_kafka_lag_offset_age_seconds{" + serverSel + `,partition="1"}`

	return []testGroup{
		s.firesAfterFor(sc, "offset age just above the threshold",
			[]inputSeries{series(sc, sel, sc.threshold+1, 0), series(sc, quiet, 0, 0)}, 0, serverLabels()),
		s.silent(sc, "offset age at the threshold", []inputSeries{series(sc, sel, sc.threshold, 0)}),
	}
}

// partitionStale feeds a last-message timestamp that trails the clock by a
// constant age: at minute m it is 60m - age.
func partitionStale(s suite, sc scenario) []testGroup {
	sel := "websocket_kafka_partition_last_message_timestamp_seconds{" + serverSel +
		`,topic="events",partition="0"}`
	labels := serverLabels("topic", "events", "partition", "0")

	return []testGroup{
		s.firesAfterFor(sc, "silent one second longer than the threshold",
			[]inputSeries{series(sc, sel, -(sc.threshold + 1), 60)}, 0, labels),
		s.silent(sc, "silent exactly as long as the threshold",
			[]inputSeries{series(sc, sel, -sc.threshold, 60)}),
	}
}

// infrastructureErrors: increase() needs two samples, so a counter rising
// from minute 0 makes the expression hold from minute 1.
func infrastructureErrors(s suite, sc scenario) []testGroup {
	sel := "websocket_infrastructure_errors_total{" + serverSel + `,pod="a"}`

	return []testGroup{
		s.firesAfterFor(sc, "errors keep rising", []inputSeries{series(sc, sel, 0, 1)}, 1, serverLabels()),
		s.silent(sc, "errors in the past only", []inputSeries{series(sc, sel, 5, 0)}),
	}
}

func serverDown(s suite, sc scenario) []testGroup {
	up := func(pod string) string { return "up{" + serverSel + `,pod="` + pod + `"}` }
	other := inputSeries{Series: `up{namespace="shop",service="db",pod="db-0"}`, Values: "1+0x20"}

	return []testGroup{
		s.firesAfterFor(sc, "every pod down", []inputSeries{series(sc, up("a"), 0, 0), other}, 0,
			serverLabels()),
		s.firesAfterFor(sc, "no pod scraped", []inputSeries{other}, 0, s.absent),
		s.silent(sc, "one pod of two up",
			[]inputSeries{series(sc, up("a"), 0, 0), series(sc, up("b"), 1, 0)}),
	}
}

func pinnedReplicas(s suite, sc scenario) []testGroup {
	spec := "kube_deployment_spec_replicas{" + deployment + "}"
	status := "kube_deployment_status_replicas{" + deployment + "}"
	labels := map[string]string{"namespace": namespace, "deployment": server}
	n := sc.threshold

	return []testGroup{
		s.firesAfterFor(sc, "spec asks for more",
			[]inputSeries{series(sc, spec, n+1, 0), series(sc, status, n, 0)}, 0, labels),
		s.firesAfterFor(sc, "more pods run",
			[]inputSeries{series(sc, spec, n, 0), series(sc, status, n+1, 0)}, 0, labels),
		s.silent(sc, "one asked, one runs", []inputSeries{series(sc, spec, n, 0), series(sc, status, n, 0)}),
	}
}

// driftCorrections: the rule looks back 15 minutes, so a correction every
// 10 minutes keeps it active from the first one (minute 10), and one every
// 20 minutes leaves gaps that reset it.
func driftCorrections(s suite, sc scenario) []testGroup {
	sel := `dashstream_drift_corrections_total{field="replicas",job="dashstream-operator"}`

	return []testGroup{
		s.firesAfterFor(sc, "a correction every 10 minutes", []inputSeries{every(sc, sel, 10)}, 10,
			map[string]string{"field": "replicas"}),
		s.silent(sc, "a correction every 20 minutes", []inputSeries{every(sc, sel, 20)}),
		s.silent(sc, "corrections in the past only", []inputSeries{series(sc, sel, 3, 0)}),
	}
}

// every is a counter that rises by one every n minutes.
func every(sc scenario, selector string, n int) inputSeries {
	values := make([]string, 0, steps(sc)+n)
	for m := 0; m <= steps(sc)+n; m++ {
		values = append(values, strconv.Itoa(m/n))
	}

	return inputSeries{Series: selector, Values: strings.Join(values, " ")}
}

func webhookErrors(s suite, sc scenario) []testGroup {
	requests := func(path, code string) string {
		return fmt.Sprintf(`controller_runtime_webhook_requests_total{webhook=%q,code=%q}`, path, code)
	}

	return []testGroup{
		s.firesAfterFor(sc, "500s keep coming", []inputSeries{series(sc, requests(webhook, "500"), 0, 1)}, 1,
			map[string]string{"webhook": webhook}),
		s.silent(sc, "500s in the past, 200s now, another manager's 500s", []inputSeries{
			series(sc, requests(webhook, "500"), 4, 0),
			series(sc, requests(webhook, "200"), 0, 5),
			series(sc, requests("/validate-apps-v1-deployment", "500"), 0, 1),
		}),
	}
}
