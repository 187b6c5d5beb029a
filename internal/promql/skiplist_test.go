package promql

// Code generated from a conformance run, then maintained by hand: every entry
// is an eval that reads native histogram samples, which the engine refuses
// with ErrNativeHistograms. Remove entries as support lands; the list must
// only shrink.

// nhReason is why the evals below are skipped.
const nhReason = "reads native histograms, not supported yet"

// skippedEvals are eval commands not run, by file and line number of the
// eval, with the reason.
var skippedEvals = map[string]map[int]string{
	"aggregators.test": {
		239: nhReason, // eval instant at 0m max({job="api-server"})
		244: nhReason, // eval instant at 0m max(http_requests_histogram)
		252: nhReason, // eval instant at 0m min({job="api-server"})
		257: nhReason, // eval instant at 0m min(http_requests_histogram)
		370: nhReason, // eval instant at 50m topk(100, http_requests_histogram)
		374: nhReason, // eval range from 0 to 50m step 5m topk(100, http_requests_histogram)
		378: nhReason, // eval instant at 50m topk(1, {__name__=~"http_requests(_histogram)?"})
		382: nhReason, // eval instant at 50m count(topk(1000, {__name__=~"http_requests(_histogram)?"}))
		386: nhReason, // eval range from 0 to 50m step 5m count(topk(1000, {__name__=~"http_requests(_histogram)?"}
		390: nhReason, // eval instant at 50m topk by (instance) (1, {__name__=~"http_requests(_histogram)?"})
		396: nhReason, // eval instant at 50m bottomk(100, http_requests_histogram)
		400: nhReason, // eval range from 0 to 50m step 5m bottomk(100, http_requests_histogram)
		404: nhReason, // eval instant at 50m bottomk(1, {__name__=~"http_requests(_histogram)?"})
		408: nhReason, // eval instant at 50m count(bottomk(1000, {__name__=~"http_requests(_histogram)?"}))
		412: nhReason, // eval range from 0 to 50m step 5m count(bottomk(1000, {__name__=~"http_requests(_histogram)
		416: nhReason, // eval instant at 50m bottomk by (instance) (1, {__name__=~"http_requests(_histogram)?"})
		447: nhReason, // eval instant at 1m count_values("version", version)
		453: nhReason, // eval instant at 1m count_values(((("version"))), version)
		459: nhReason, // eval instant at 1m count_values without (instance)("version", version)
		467: nhReason, // eval instant at 1m count_values without (instance)("job", version)
		474: nhReason, // eval instant at 1m count_values by (job, group)("job", version)
		520: nhReason, // eval instant at 1m quantile without(point)(0.8, {__name__=~"data(_histogram)?"})
		528: nhReason, // eval instant at 1m quantile(0.8, data_histogram)
		608: nhReason, // eval instant at 1m group without(point)(data)
		840: nhReason, // eval instant at 0m stddev(series)
		844: nhReason, // eval instant at 0m stdvar(series)
		849: nhReason, // eval instant at 0m stddev({label="c"})
		852: nhReason, // eval instant at 0m stdvar({label="c"})
		855: nhReason, // eval instant at 0m stddev by (label) (series)
		860: nhReason, // eval instant at 0m stdvar by (label) (series)
		872: nhReason, // eval instant at 0m stddev(series)
		876: nhReason, // eval instant at 0m stdvar(series)
		880: nhReason, // eval instant at 0m stddev by (label) (series)
		885: nhReason, // eval instant at 0m stdvar by (label) (series)
	},
	"extended_vectors.test": {
		468: nhReason, // eval instant at 50s histogram_count(rate(hist_counter[1m]))
		471: nhReason, // eval instant at 50s histogram_count(increase(hist_counter[1m]))
		475: nhReason, // eval instant at 50s histogram_count(increase(hist_counter[1m] anchored))
		478: nhReason, // eval instant at 50s histogram_sum(increase(hist_counter[1m] anchored))
		484: nhReason, // eval instant at 50s histogram_count(increase(hist_counter[1m] smoothed))
		487: nhReason, // eval instant at 50s histogram_sum(increase(hist_counter[1m] smoothed))
		493: nhReason, // eval instant at 5s histogram_count(increase(hist_counter[1m] smoothed))
		497: nhReason, // eval instant at 50s histogram_count(rate(hist_counter[1m] smoothed))
		501: nhReason, // eval instant at 5s histogram_count(increase(hist_counter[1m] anchored))
		504: nhReason, // eval instant at 5s histogram_sum(increase(hist_counter[1m] anchored))
		510: nhReason, // eval instant at 50s histogram_count(delta(hist_counter[1m] smoothed))
		515: nhReason, // eval instant at 50s histogram_count(rate(hist_counter[1m] anchored))
		520: nhReason, // eval instant at 50s histogram_count(delta(hist_counter[1m] anchored))
		526: nhReason, // eval instant at 7s histogram_count(hist_counter smoothed)
		530: nhReason, // eval instant at 15s histogram_count(hist_counter smoothed)
		534: nhReason, // eval instant at 110s histogram_count(hist_counter smoothed)
		545: nhReason, // eval range from 0s to 60s step 15s histogram_count(rate(hist_counter[1m] smoothed))
		555: nhReason, // eval instant at 1m rate(mixed_hist[1m] anchored)
		561: nhReason, // eval instant at 45s rate(mixed_hist[1m] smoothed)
		570: nhReason, // eval instant at 90s histogram_count(increase(reset_custom_hist[90s]))
		573: nhReason, // eval instant at 90s histogram_sum(increase(reset_custom_hist[90s]))
		576: nhReason, // eval instant at 90s histogram_count(increase(reset_custom_hist[90s] anchored))
		579: nhReason, // eval instant at 90s histogram_sum(increase(reset_custom_hist[90s] anchored))
		588: nhReason, // eval instant at 90s histogram_count(rate(mid_gauge_hist[90s] anchored))
		592: nhReason, // eval instant at 90s histogram_count(increase(mid_gauge_hist[90s] smoothed))
		598: nhReason, // eval instant at 90s histogram_count(delta(mid_gauge_hist[90s] anchored))
		607: nhReason, // eval instant at 50s histogram_count(increase(custom_only[1m] smoothed))
		610: nhReason, // eval instant at 50s histogram_sum(increase(custom_only[1m] smoothed))
		622: nhReason, // eval instant at 20s histogram_count(reset_middle smoothed)
		631: nhReason, // eval instant at 20s500ms histogram_count(rate(reset_boundary[1s] smoothed))
		642: nhReason, // eval instant at 70s histogram_count(increase(anchored_reset_at_end[70s] anchored))
		653: nhReason, // eval instant at 30s histogram_count(increase(anchored_two_sample_reset[30s] anchored))
		664: nhReason, // eval instant at 15s histogram_count(increase(smoothed_double_reset[14s] smoothed))
		676: nhReason, // eval instant at 15s histogram_count(increase(smoothed_two_sample_both_interp[10s] smoothed))
		686: nhReason, // eval instant at 45s histogram_count(smoothed_mix smoothed)
		695: nhReason, // eval instant at 45s mixed_types smoothed
		698: nhReason, // eval instant at 45s sort(mixed_types smoothed)
		715: nhReason, // eval instant at 15s histogram_count(rate(right_boundary_reset[10s] smoothed))
		742: nhReason, // eval instant at 3m resets(ftohmixed[1m] anchored)
		748: nhReason, // eval instant at 3m resets(histograms[1m] anchored)
		751: nhReason, // eval instant at 3m resets(htofmixed[1m] anchored)
		754: nhReason, // eval instant at 3m resets(honlywithreset[1m] anchored)
		757: nhReason, // eval instant at 3m resets(hhffmixed[1m] anchored)
		760: nhReason, // eval instant at 4m resets(hhffmixed[1m] anchored)
		763: nhReason, // eval instant at 3m changes(ftohmixed[1m] anchored)
		769: nhReason, // eval instant at 3m changes(histograms[1m] anchored)
		772: nhReason, // eval instant at 3m changes(htofmixed[1m] anchored)
		775: nhReason, // eval instant at 3m changes(honlywithreset[1m] anchored)
		778: nhReason, // eval instant at 3m changes(hhffmixed[1m] anchored)
	},
	"functions.test": {
		47:   nhReason, // eval instant at 50m resets(http_requests_histogram[6m])
		52:   nhReason, // eval instant at 50m resets(http_requests_histogram[60m])
		90:   nhReason, // eval instant at 50m changes(http_requests_histogram[5m])
		92:   nhReason, // eval instant at 50m changes(http_requests_histogram[6m])
		97:   nhReason, // eval instant at 50m changes(http_requests_histogram[60m])
		245:  nhReason, // eval instant at 20m irate(http_requests_histogram{path="/a"}[20m])
		249:  nhReason, // eval instant at 20m irate(http_requests_histogram{path="/b"}[20m])
		253:  nhReason, // eval instant at 20m irate(http_requests_histogram{path="/b"}[6m])
		256:  nhReason, // eval instant at 20m irate(http_requests_histogram{path="/c"}[20m])
		260:  nhReason, // eval instant at 20m irate(http_requests_histogram{path="/d"}[20m])
		264:  nhReason, // eval instant at 20m irate(http_requests_histogram{path="/e"}[20m])
		267:  nhReason, // eval instant at 20m irate(http_requests_histogram{path="/f"}[20m])
		271:  nhReason, // eval instant at 20m irate(http_requests_histogram{path="/g"}[20m])
		290:  nhReason, // eval instant at 20m delta(http_requests_gauge[20m])
		295:  nhReason, // eval instant at 20m delta(http_requests_counter[20m])
		300:  nhReason, // eval instant at 20m delta(http_requests_mix[20m])
		328:  nhReason, // eval instant at 20m idelta(http_requests_histogram{path="/a"}[20m])
		332:  nhReason, // eval instant at 20m idelta(http_requests_histogram{path="/b"}[20m])
		336:  nhReason, // eval instant at 20m idelta(http_requests_histogram{path="/b"}[6m])
		339:  nhReason, // eval instant at 20m idelta(http_requests_histogram{path="/c"}[20m])
		343:  nhReason, // eval instant at 20m idelta(http_requests_histogram{path="/d"}[20m])
		347:  nhReason, // eval instant at 20m idelta(http_requests_histogram{path="/e"}[20m])
		350:  nhReason, // eval instant at 20m idelta(http_requests_histogram{path="/f"}[20m])
		353:  nhReason, // eval instant at 20m idelta(http_requests_histogram{path="/g"}[20m])
		384:  nhReason, // eval instant at 110m deriv(http_requests_mix{group="canary", instance="1", job="app-server
		388:  nhReason, // eval instant at 100m deriv(testcounter_reset_middle_mix[110m])
		393:  nhReason, // eval instant at 50m deriv(http_requests_histogram[60m])
		445:  nhReason, // eval instant at 60m predict_linear(testcounter_reset_middle_mix[60m], 3000)
		449:  nhReason, // eval instant at 60m predict_linear(testcounter_reset_middle_mix[60m], 50m)
		454:  nhReason, // eval instant at 60m predict_linear(http_requests_histogram[60m], 50m)
		536:  nhReason, // eval instant at 0s timestamp(metric)
		539:  nhReason, // eval instant at 5s timestamp(metric)
		542:  nhReason, // eval instant at 5s timestamp(((metric)))
		545:  nhReason, // eval instant at 10s timestamp(metric)
		548:  nhReason, // eval instant at 10s timestamp(((metric)))
		551:  nhReason, // eval instant at 20s timestamp(metric)
		617:  nhReason, // eval instant at 0m clamp_max(test_clamp, 75)
		622:  nhReason, // eval instant at 0m clamp_min(test_clamp, -25)
		627:  nhReason, // eval instant at 0m clamp(test_clamp, -25, 75)
		632:  nhReason, // eval instant at 0m clamp_max(clamp_min(test_clamp, -20), 70)
		637:  nhReason, // eval instant at 0m clamp_max((clamp_min(test_clamp, (-20))), (70))
		642:  nhReason, // eval instant at 0m clamp(test_clamp, 0, NaN)
		647:  nhReason, // eval instant at 0m clamp(test_clamp, NaN, 0)
		652:  nhReason, // eval instant at 0m clamp_max(test_clamp, NaN)
		657:  nhReason, // eval instant at 0m clamp_min(test_clamp, NaN)
		662:  nhReason, // eval instant at 0m clamp_max(test_clamp, Inf)
		667:  nhReason, // eval instant at 0m clamp_max(test_clamp, -Inf)
		672:  nhReason, // eval instant at 0m clamp_min(test_clamp, -Inf)
		677:  nhReason, // eval instant at 0m clamp_min(test_clamp, Inf)
		682:  nhReason, // eval instant at 0m clamp(test_clamp, -Inf, Inf)
		687:  nhReason, // eval instant at 0m clamp(test_clamp, 5, -5)
		695:  nhReason, // eval range from 0 to 5m step 1m clamp(mixed_metric, 2, 5)
		698:  nhReason, // eval range from 0 to 5m step 1m clamp_min(mixed_metric, 2)
		701:  nhReason, // eval range from 0 to 5m step 1m clamp_max(mixed_metric, 2)
		715:  nhReason, // eval instant at 0m sgn(test_sgn)
		738:  nhReason, // eval instant at 50m sort(http_requests)
		750:  nhReason, // eval instant at 50m sort_desc(http_requests)
		941:  nhReason, // eval instant at 20010s double_exponential_smoothing(http_requests_mix[1m], 0.01, 0.1)
		949:  nhReason, // eval instant at 10000s double_exponential_smoothing(http_requests_histogram[1m], 0.01, 0.1
		1117: nhReason, // eval instant at 55s sum_over_time(metric12[1m])
		1121: nhReason, // eval instant at 55s avg_over_time(metric12[1m])
		1126: nhReason, // eval instant at 55s sum_over_time(metric13[1m])
		1129: nhReason, // eval instant at 55s avg_over_time(metric13[1m])
		1132: nhReason, // eval instant at 55s sum_over_time(metric13[1m])/count_over_time(metric13[1m])
		1517: nhReason, // eval instant at 1m stddev_over_time(metric_histogram{type="only_histogram"}[2m])
		1520: nhReason, // eval instant at 1m stddev_over_time(metric_histogram{type="mix"}[2m])
		1524: nhReason, // eval instant at 1m stdvar_over_time(metric_histogram{type="only_histogram"}[2m])
		1528: nhReason, // eval instant at 1m stdvar_over_time(metric_histogram{type="mix"}[2m])
		1578: nhReason, // eval instant at 70s mad_over_time(metric_histogram{type="only_histogram"}[70s])
		1582: nhReason, // eval instant at 70s mad_over_time(metric_histogram{type="mix"}[70s])
		1610: nhReason, // eval instant at 95s ts_of_last_over_time(metric_histogram{type="only_histogram"}[90s])
		1613: nhReason, // eval instant at 95s ts_of_last_over_time(metric_histogram{type="mix"}[90s])
		1632: nhReason, // eval instant at 95s ts_of_first_over_time(metric_histogram{type="only_histogram"}[90s])
		1635: nhReason, // eval instant at 95s ts_of_first_over_time(metric_histogram{type="mix"}[90s])
		1704: nhReason, // eval instant at 1m quantile_over_time(0.5, data_histogram{test="only histogram samples"}[2
		1709: nhReason, // eval instant at 1m quantile_over_time(0.5, data_histogram{test="mix samples"}[2m])
		1831: nhReason, // eval instant at 0m day_of_month(histogram_sample)
		1833: nhReason, // eval instant at 0m day_of_week(histogram_sample)
		1835: nhReason, // eval instant at 0m day_of_year(histogram_sample)
		1837: nhReason, // eval instant at 0m days_in_month(histogram_sample)
		1839: nhReason, // eval instant at 0m hour(histogram_sample)
		1841: nhReason, // eval instant at 0m minute(histogram_sample)
		1843: nhReason, // eval instant at 0m month(histogram_sample)
		1845: nhReason, // eval instant at 0m year(histogram_sample)
		1889: nhReason, // eval instant at 1m min_over_time(data_histogram{type="only_histogram"}[2m])
		1893: nhReason, // eval instant at 1m min_over_time(data_histogram{type=~"mix_samples.*"}[2m])
		1909: nhReason, // eval instant at 1m max_over_time(data_histogram{type="only_histogram"}[2m])
		1913: nhReason, // eval instant at 1m max_over_time(data_histogram{type=~"mix_samples.*"}[2m])
		1921: nhReason, // eval instant at 1m last_over_time({__name__=~"data(_histogram|_sparse|_empty)?"}[2m])
		1933: nhReason, // eval instant at 1m first_over_time({__name__=~"data(_histogram|_sparse|_empty)?"}[2m])
		1945: nhReason, // eval instant at 1m count_over_time({__name__=~"data(_histogram|_sparse|_empty)?"}[2m])
		1973: nhReason, // eval instant at 0m abs(data)
		1984: nhReason, // eval instant at 0m ceil(data)
		1995: nhReason, // eval instant at 0m floor(data)
		2006: nhReason, // eval instant at 0m round(data)
		2046: nhReason, // eval instant at 50m absent(http_requests_histogram)
		2048: nhReason, // eval instant at 50m absent(sum(http_requests_histogram))
		2123: nhReason, // eval instant at 16m absent_over_time({instance="127.0.0.1"}[5m])
		2128: nhReason, // eval instant at 21m absent_over_time({instance="127.0.0.1"}[20m])
		2141: nhReason, // eval instant at 10m absent_over_time(http_requests_histogram[5m])
		2143: nhReason, // eval instant at 10m absent_over_time(rate(http_requests_histogram[5m])[5m:1m])
		2148: nhReason, // eval instant at 20m absent_over_time(rate(http_requests_histogram[5m])[5m:1m])
		2224: nhReason, // eval instant at 1m exp({__name__=~"exp_root_log(_h)?"})
		2240: nhReason, // eval instant at 1m ln({__name__=~"exp_root_log(_h)?"})
		2256: nhReason, // eval instant at 1m exp(ln({__name__=~"exp_root_log(_h)?"}))
		2264: nhReason, // eval instant at 1m sqrt({__name__=~"exp_root_log(_h)?"})
		2272: nhReason, // eval instant at 1m log2({__name__=~"exp_root_log(_h)?"})
		2288: nhReason, // eval instant at 1m log10({__name__=~"exp_root_log(_h)?"})
		2316: nhReason, // eval range from 0 to 5m step 1m round(mixed_metric)
		2327: nhReason, // eval instant at 0m scalar(metric)
		2331: nhReason, // eval instant at 0m scalar({type="histogram"})
		2335: nhReason, // eval instant at 0m scalar({l="x"})
	},
	"histograms.test": {
		72:   nhReason, // eval instant at 50m histogram_count(testhistogram3)
		84:   nhReason, // eval instant at 50m histogram_sum(testhistogram3)
		96:   nhReason, // eval instant at 50m histogram_avg(testhistogram3)
		102:  nhReason, // eval instant at 50m histogram_stddev(testhistogram3)
		108:  nhReason, // eval instant at 50m histogram_stdvar(testhistogram3)
		115:  nhReason, // eval instant at 50m histogram_fraction(0, 4, testhistogram2)
		123:  nhReason, // eval instant at 50m histogram_fraction(0, 6, testhistogram2)
		131:  nhReason, // eval instant at 50m histogram_fraction(0, 3.5, testhistogram2)
		147:  nhReason, // eval instant at 50m histogram_fraction(-Inf, 0, testhistogram4)
		155:  nhReason, // eval instant at 50m histogram_fraction(0, Inf, testhistogram4)
		170:  nhReason, // eval instant at 50m histogram_fraction(-Inf, 0, testhistogram5)
		179:  nhReason, // eval instant at 50m histogram_fraction(0, 0.2, testhistogram3)
		189:  nhReason, // eval instant at 50m histogram_fraction(0, 0.2, rate(testhistogram3[10m]))
		215:  nhReason, // eval instant at 50m histogram_fraction(0, 1.5, positive_buckets_lower_falls_in_the_first_b
		234:  nhReason, // eval instant at 50m histogram_fraction(-4, -2, negative_buckets_lower_falls_in_the_first_b
		254:  nhReason, // eval instant at 50m histogram_fraction(-Inf, -1.5, lower_is_negative_Inf)
		271:  nhReason, // eval instant at 50m histogram_fraction(-Inf, +Inf, lower_is_negative_Inf_and_upper_is_posi
		288:  nhReason, // eval instant at 50m histogram_fraction(-Inf, +Inf, lower_is_negative_Inf_and_upper_is_posi
		306:  nhReason, // eval instant at 50m histogram_fraction(4, 5, lower_and_upper_fall_in_last_bucket__positive
		324:  nhReason, // eval instant at 50m histogram_fraction(0, 1, lower_and_upper_fall_in_last_bucket__negative
		343:  nhReason, // eval instant at 50m histogram_fraction(2, 5, upper_falls_in_last_bucket)
		361:  nhReason, // eval instant at 50m histogram_fraction(400, +Inf, upper_is_positive_Inf)
		378:  nhReason, // eval instant at 50m histogram_fraction(2, 2, lower_equals_upper)
		393:  nhReason, // eval instant at 50m histogram_fraction(3, 2, lower_greater_than_upper)
		408:  nhReason, // eval instant at 50m histogram_fraction(0, 1, single_bucket)
		423:  nhReason, // eval instant at 50m histogram_fraction(0, 5, all_zero_counts)
		442:  nhReason, // eval instant at 50m histogram_fraction(2, 3.5, lower_exactly_on_bucket_boundary)
		461:  nhReason, // eval instant at 50m histogram_fraction(0.5, 2, upper_exactly_on_bucket_boundary)
		480:  nhReason, // eval instant at 50m histogram_fraction(1, 3, both_bounds_exactly_on_bucket_boundaries)
		498:  nhReason, // eval instant at 50m histogram_fraction(0.1, 0.75, fractional_bucket_bounds)
		518:  nhReason, // eval instant at 50m histogram_fraction(-1, 1, range_crosses_zero)
		531:  nhReason, // eval instant at 50m histogram_fraction(NaN, 1, lower_is_NaN)
		544:  nhReason, // eval instant at 50m histogram_fraction(0, NaN, upper_is_NaN)
		558:  nhReason, // eval instant at 50m histogram_fraction(-10, -5, range_entirely_below_all_buckets)
		572:  nhReason, // eval instant at 50m histogram_fraction(5, 10, range_entirely_above_all_buckets)
		590:  nhReason, // eval instant at 50m histogram_quantile(0, testhistogram3)
		600:  nhReason, // eval instant at 50m histogram_quantile(0.25, testhistogram3)
		610:  nhReason, // eval instant at 50m histogram_quantile(0.5, testhistogram3)
		620:  nhReason, // eval instant at 50m histogram_quantile(0.75, testhistogram3)
		630:  nhReason, // eval instant at 50m histogram_quantile(1, testhistogram3)
		640:  nhReason, // eval instant at 50m histogram_quantiles(testhistogram3, "q", 0, 0.25, 0.5, 0.75, 1)
		676:  nhReason, // eval instant at 50m histogram_quantile(-0.1, testhistogram)
		686:  nhReason, // eval instant at 50m histogram_quantiles(testhistogram, "q", -0.1)
		698:  nhReason, // eval instant at 50m histogram_quantile(1.01, testhistogram)
		708:  nhReason, // eval instant at 50m histogram_quantiles(testhistogram, "q", 1.01)
		720:  nhReason, // eval instant at 50m histogram_quantile(NaN, testhistogram)
		730:  nhReason, // eval instant at 50m histogram_quantiles(testhistogram, "q", NaN)
		748:  nhReason, // eval instant at 50m histogram_quantile(0, testhistogram)
		760:  nhReason, // eval instant at 50m histogram_quantile(1, testhistogram)
		772:  nhReason, // eval instant at 50m histogram_quantile(0.2, testhistogram)
		782:  nhReason, // eval instant at 50m histogram_quantile(0.5, testhistogram)
		792:  nhReason, // eval instant at 50m histogram_quantile(0.8, testhistogram)
		803:  nhReason, // eval instant at 50m histogram_quantile(0.2, rate(testhistogram[10m]))
		813:  nhReason, // eval instant at 50m histogram_quantile(0.5, rate(testhistogram[10m]))
		823:  nhReason, // eval instant at 50m histogram_quantile(0.8, rate(testhistogram[10m]))
		835:  nhReason, // eval instant at 7m histogram_quantile(1./6., testhistogram2)
		843:  nhReason, // eval instant at 7m histogram_quantile(0.5, testhistogram2)
		851:  nhReason, // eval instant at 7m histogram_quantile(5./6., testhistogram2)
		859:  nhReason, // eval instant at 47m histogram_quantile(1./6., rate(testhistogram2[15m]))
		867:  nhReason, // eval instant at 47m histogram_quantile(0.5, rate(testhistogram2[15m]))
		875:  nhReason, // eval instant at 47m histogram_quantile(5./6., rate(testhistogram2[15m]))
		886:  nhReason, // eval instant at 50m histogram_quantile(0.3, sum(rate(request_duration_seconds[10m])))
		894:  nhReason, // eval instant at 50m histogram_quantile(0.5, sum(rate(request_duration_seconds[10m])))
		904:  nhReason, // eval instant at 50m histogram_quantile(0.3, avg(rate(request_duration_seconds[10m])))
		912:  nhReason, // eval instant at 50m histogram_quantile(0.5, avg(rate(request_duration_seconds[10m])))
		922:  nhReason, // eval instant at 50m histogram_quantile(0.3, sum(rate(request_duration_seconds[10m])) by (i
		932:  nhReason, // eval instant at 50m histogram_quantile(0.5, sum(rate(request_duration_seconds[10m])) by (i
		943:  nhReason, // eval instant at 50m histogram_quantile(0.3, sum(rate(request_duration_seconds[10m])) by (j
		953:  nhReason, // eval instant at 50m histogram_quantile(0.5, sum(rate(request_duration_seconds[10m])) by (j
		964:  nhReason, // eval instant at 50m histogram_quantile(0.3, sum(rate(request_duration_seconds[10m])) by (j
		978:  nhReason, // eval instant at 50m histogram_quantile(0.5, sum(rate(request_duration_seconds[10m])) by (j
		993:  nhReason, // eval instant at 50m histogram_quantile(0.3, rate(request_duration_seconds[10m]))
		1007: nhReason, // eval instant at 50m histogram_quantile(0.5, rate(request_duration_seconds[10m]))
		1022: nhReason, // eval instant at 50m sum(request_duration_seconds)
		1026: nhReason, // eval instant at 50m sum(request_duration_seconds{job="job1",instance="ins1"} + ignoring(jo
		1030: nhReason, // eval instant at 50m avg(request_duration_seconds)
		1047: nhReason, // eval instant at 50m count(request_duration_seconds)
		1087: nhReason, // eval instant at 50m histogram_quantile(0.5, rate(mixed[10m]))
		1141: nhReason, // eval instant at 5m rate(const_histogram[5m])
		1149: nhReason, // eval instant at 5m histogram_quantile(1.0, sum(rate(const_histogram[5m])))
		1159: nhReason, // eval instant at 3m sum_over_time(histogram_over_time[4m:1m])
		1162: nhReason, // eval instant at 3m avg_over_time(histogram_over_time[4m:1m])
		1173: nhReason, // eval instant at 10m increase(histogram_with_reset[15m])
		1176: nhReason, // eval instant at 10m resets(histogram_with_reset[15m])
		1179: nhReason, // eval instant at 10m histogram_count(increase(histogram_with_reset[15m]))
		1182: nhReason, // eval instant at 10m histogram_sum(increase(histogram_with_reset[15m]))
		1197: nhReason, // eval instant at 0 histogram_quantile(0.8, series)
		1202: nhReason, // eval instant at 0 histogram_quantiles(series, "q", 0.1, 0.2)
		1207: nhReason, // eval instant at 0 histogram_fraction(-Inf, 1, series)
		1297: nhReason, // eval instant at 0 histogram_quantile(0.8, series)
		1302: nhReason, // eval instant at 0 histogram_quantiles(series, "q", 0.1, 0.2)
		1307: nhReason, // eval instant at 0 histogram_fraction(-Inf, 1, series)
	},
	"limit.test": {
		17:  nhReason, // eval instant at 50m count(limitk by (group) (0, http_requests))
		22:  nhReason, // eval instant at 50m count(limitk by (group) (-1, http_requests))
		28:  nhReason, // eval instant at 50m count(limitk by (group) (1, http_requests) and http_requests)
		31:  nhReason, // eval instant at 50m count(limitk by (group) (2, http_requests) and http_requests)
		34:  nhReason, // eval instant at 50m count(limitk(100, http_requests) and http_requests)
		38:  nhReason, // eval instant at 50m count(limitk by (group) (1, http_requests) and http_requests)
		41:  nhReason, // eval instant at 50m count(limitk by (group) (2, http_requests) and http_requests)
		44:  nhReason, // eval instant at 50m count(limitk(100, http_requests) and http_requests)
		49:  nhReason, // eval instant at 50m limitk(1, http_requests{instance="histogram_1"})
		52:  nhReason, // eval range from 0 to 50m step 5m limitk(1, http_requests{instance="histogram_1"})
		56:  nhReason, // eval instant at 50m limitk(8, http_requests{instance=~"(histogram_2|0)"})
		61:  nhReason, // eval range from 0 to 50m step 5m limitk(8, http_requests{instance=~"(histogram_2|0)"})
		66:  nhReason, // eval instant at 50m count(limitk(2, http_requests{instance=~"histogram_[0-9]"}))
		69:  nhReason, // eval range from 0 to 50m step 5m count(limitk(2, http_requests{instance=~"histogram_[0-9]"
		72:  nhReason, // eval instant at 50m count(limitk(1000, http_requests{instance=~"histogram_[0-9]"}))
		75:  nhReason, // eval range from 0 to 50m step 5m count(limitk(1000, http_requests{instance=~"histogram_[0-
		79:  nhReason, // eval range from 0m to 50m step 5m count(limitk(scalar(foo), http_requests))
		83:  nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(0.0, http_requests))
		87:  nhReason, // eval range from 0 to 50m step 5m count(limitk(2, http_requests) and http_requests)
		103: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(0.5, http_requests) and http_requests)
		106: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(0.5, http_requests) and http_requests)
		110: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(1.0, http_requests) and http_requests)
		114: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(-1.0, http_requests) and http_requests)
		118: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(1.1, http_requests) and http_requests)
		123: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(-1.1, http_requests) and http_requests)
		131: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(0.2, http_requests) or limit_ratio(-0.8
		135: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(0.2, http_requests) and limit_ratio(-0.
		139: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(0.5, http_requests) or limit_ratio(-0.5
		142: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(0.5, http_requests) and limit_ratio(-0.
		146: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(0.8, http_requests) or limit_ratio(-0.2
		149: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(0.8, http_requests) and limit_ratio(-0.
		154: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(time() % 17/17, http_requests) or limit
		157: nhReason, // eval range from 0 to 50m step 5m count(limit_ratio(time() % 17/17, http_requests) and limi
		166: nhReason, // eval instant at 50m limit_ratio(1, http_requests{instance="histogram_1"})
		169: nhReason, // eval range from 0 to 50m step 5m limit_ratio(1, http_requests{instance="histogram_1"})
		173: nhReason, // eval range from 0m to 50m step 5m count(limit_ratio(scalar(bar), http_requests))
	},
	"operators.test": {
		292: nhReason, // eval instant at 5m {job="app-server"} == 80
		296: nhReason, // eval instant at 5m http_requests_histogram != 80
		299: nhReason, // eval instant at 5m http_requests_histogram > 80
		302: nhReason, // eval instant at 5m http_requests_histogram < 80
		305: nhReason, // eval instant at 5m http_requests_histogram >= 80
		308: nhReason, // eval instant at 5m http_requests_histogram <= 80
		312: nhReason, // eval instant at 5m http_requests_histogram == http_requests_histogram
		316: nhReason, // eval instant at 5m http_requests_histogram != http_requests_histogram
		564: nhReason, // eval range from 0 to 24m step 6m left_histograms == right_histograms
		568: nhReason, // eval range from 0 to 24m step 6m left_histograms == bool right_histograms
		572: nhReason, // eval range from 0 to 24m step 6m left_histograms == right_floats_for_histograms
		576: nhReason, // eval range from 0 to 24m step 6m left_histograms == bool right_floats_for_histograms
		588: nhReason, // eval range from 0 to 24m step 6m left_histograms != right_histograms
		592: nhReason, // eval range from 0 to 24m step 6m left_histograms != bool right_histograms
		596: nhReason, // eval range from 0 to 24m step 6m left_histograms != right_floats_for_histograms
		600: nhReason, // eval range from 0 to 24m step 6m left_histograms != bool right_floats_for_histograms
		612: nhReason, // eval range from 0 to 24m step 6m left_histograms > right_histograms
		616: nhReason, // eval range from 0 to 24m step 6m left_histograms > bool right_histograms
		620: nhReason, // eval range from 0 to 24m step 6m left_histograms > right_floats_for_histograms
		624: nhReason, // eval range from 0 to 24m step 6m left_histograms > bool right_floats_for_histograms
		636: nhReason, // eval range from 0 to 24m step 6m left_histograms >= right_histograms
		640: nhReason, // eval range from 0 to 24m step 6m left_histograms >= bool right_histograms
		644: nhReason, // eval range from 0 to 24m step 6m left_histograms >= right_floats_for_histograms
		648: nhReason, // eval range from 0 to 24m step 6m left_histograms >= bool right_floats_for_histograms
		660: nhReason, // eval range from 0 to 24m step 6m left_histograms < right_histograms
		664: nhReason, // eval range from 0 to 24m step 6m left_histograms < bool right_histograms
		668: nhReason, // eval range from 0 to 24m step 6m left_histograms < right_floats_for_histograms
		672: nhReason, // eval range from 0 to 24m step 6m left_histograms < bool right_floats_for_histograms
		684: nhReason, // eval range from 0 to 24m step 6m left_histograms <= right_histograms
		688: nhReason, // eval range from 0 to 24m step 6m left_histograms <= bool right_histograms
		692: nhReason, // eval range from 0 to 24m step 6m left_histograms <= right_floats_for_histograms
		696: nhReason, // eval range from 0 to 24m step 6m left_histograms <= bool right_floats_for_histograms
		745: nhReason, // eval range from 0 to 24m step 6m left_histograms == 3
		749: nhReason, // eval range from 0 to 24m step 6m left_histograms == 0
		753: nhReason, // eval range from 0 to 24m step 6m left_histograms != 3
		757: nhReason, // eval range from 0 to 24m step 6m left_histograms != 0
		761: nhReason, // eval range from 0 to 24m step 6m left_histograms > 3
		765: nhReason, // eval range from 0 to 24m step 6m left_histograms > 0
		769: nhReason, // eval range from 0 to 24m step 6m left_histograms >= 3
		773: nhReason, // eval range from 0 to 24m step 6m left_histograms >= 0
		777: nhReason, // eval range from 0 to 24m step 6m left_histograms < 3
		781: nhReason, // eval range from 0 to 24m step 6m left_histograms < 0
		785: nhReason, // eval range from 0 to 24m step 6m left_histograms <= 3
		789: nhReason, // eval range from 0 to 24m step 6m left_histograms <= 0
		793: nhReason, // eval range from 0 to 24m step 6m left_histograms == bool 3
		797: nhReason, // eval range from 0 to 24m step 6m left_histograms == bool 0
		801: nhReason, // eval range from 0 to 24m step 6m left_histograms != bool 3
		805: nhReason, // eval range from 0 to 24m step 6m left_histograms != bool 0
		809: nhReason, // eval range from 0 to 24m step 6m left_histograms > bool 3
		813: nhReason, // eval range from 0 to 24m step 6m left_histograms > bool 0
		817: nhReason, // eval range from 0 to 24m step 6m left_histograms >= bool 3
		821: nhReason, // eval range from 0 to 24m step 6m left_histograms >= bool 0
		825: nhReason, // eval range from 0 to 24m step 6m left_histograms < bool 3
		829: nhReason, // eval range from 0 to 24m step 6m left_histograms < bool 0
		833: nhReason, // eval range from 0 to 24m step 6m left_histograms <= bool 3
		837: nhReason, // eval range from 0 to 24m step 6m left_histograms <= bool 0
		887: nhReason, // eval range from 0 to 24m step 6m 3 == left_histograms
		891: nhReason, // eval range from 0 to 24m step 6m 0 == left_histograms
		895: nhReason, // eval range from 0 to 24m step 6m 3 != left_histograms
		899: nhReason, // eval range from 0 to 24m step 6m 0 != left_histograms
		903: nhReason, // eval range from 0 to 24m step 6m 3 < left_histograms
		907: nhReason, // eval range from 0 to 24m step 6m 0 < left_histograms
		911: nhReason, // eval range from 0 to 24m step 6m 3 < left_histograms
		915: nhReason, // eval range from 0 to 24m step 6m 0 < left_histograms
		919: nhReason, // eval range from 0 to 24m step 6m 3 > left_histograms
		923: nhReason, // eval range from 0 to 24m step 6m 0 > left_histograms
		927: nhReason, // eval range from 0 to 24m step 6m 3 >= left_histograms
		931: nhReason, // eval range from 0 to 24m step 6m 0 >= left_histograms
		969: nhReason, // eval instant at 10m (testhistogram) and on() (vector(1) == 1)
		973: nhReason, // eval range from 0 to 10m step 5m (testhistogram) and on() (vector(1) == 1)
		978: nhReason, // eval instant at 10m (testhistogram) and on() (vector(-1) == 1)
		980: nhReason, // eval range from 0 to 10m step 5m (testhistogram) and on() (vector(-1) == 1)
	},
	"range_queries.test": {
		93: nhReason, // eval instant at 2m some_metric[2m]
	},
	"subquery.test": {
		146: nhReason, // eval instant at 10m increase(native_histogram[10m:3m])
		151: nhReason, // eval instant at 10m increase(native_histogram[10m:15s])
	},
}
