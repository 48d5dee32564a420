package org.splitlora.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.splitlora.federation.ClientUpdate;
import org.splitlora.federation.RoundListener;
import org.splitlora.federation.RoundResult;
import org.splitlora.splitft.CutDecision;

/** One {@code metrics.jsonl} object per round (DESIGN §5), with every client's statistics. */
public final class RoundMetrics implements RoundListener {

    private final MetricsJsonl out;

    public RoundMetrics(MetricsJsonl out) {
        this.out = out;
    }

    @Override
    public void onRound(RoundResult r) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("round", r.round() + 1);
        o.put("mode", r.mode().key());
        o.put("clients", r.clients());
        o.put("train_loss", r.trainLoss());
        if (r.evaluated()) {
            o.put("val_loss", r.valLoss());
            o.put("val_ppl", Math.exp(r.valLoss()));
        }
        o.put("seconds", r.seconds());
        o.put("train_seconds", r.trainSeconds());
        o.put("tokens", r.tokens());
        o.put("tokens_per_s", r.tokensPerSecond());
        o.put("bytes_up", r.bytesUp());
        o.put("bytes_down", r.bytesDown());
        o.put("lora_bytes_up", r.loraBytesUp());
        o.put("lora_bytes_down", r.loraBytesDown());
        if (!r.cuts().isEmpty()) {
            o.put("cuts", byClient(r.cuts()));
        }
        if (!r.cutDecisions().isEmpty()) {
            List<Map<String, Object>> decisions = new ArrayList<>();
            for (CutDecision d : r.cutDecisions()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("client", d.client());
                m.put("from", d.from());
                m.put("to", d.to());
                m.put("reason", d.reason());
                decisions.add(m);
            }
            o.put("cut_decisions", decisions);
        }
        o.put("truncation_error", Map.of("start", r.startTruncation(), "aggregate", r.aggregateTruncation()));
        List<Map<String, Object>> clients = new ArrayList<>();
        for (ClientUpdate u : r.updates()) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("client", u.clientId());
            c.put("layers", u.layers());
            c.put("rank_at_cut", u.rankAtCut());
            c.put("steps", u.steps());
            c.put("samples", u.samples());
            c.put("train_loss", u.meanLoss());
            c.put("seconds", u.seconds());
            c.put("compute_s_per_step", u.computeSecondsPerStep());
            c.put("client_forward_s", u.timings().clientForward());
            c.put("client_backward_s", u.timings().clientBackward());
            c.put("exchange_s", u.timings().exchange());
            c.put("server_forward_s", u.timings().serverForward());
            c.put("server_backward_s", u.timings().serverBackward());
            c.put("server_wait_s", u.timings().serverWait());
            c.put("transfer_s", u.timings().transfer());
            c.put("bytes_up", u.bytesUp());
            c.put("bytes_down", u.bytesDown());
            c.put("stage_attempt", u.attempt());
            clients.add(c);
        }
        o.put("per_client", clients);
        out.write(o);
    }

    private static Map<String, Integer> byClient(Map<Integer, Integer> values) {
        Map<String, Integer> out = new LinkedHashMap<>();
        values.forEach((k, v) -> out.put(String.valueOf(k), v));
        return out;
    }
}
