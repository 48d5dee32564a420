package org.splitlora.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Run directories with known numbers in the run-directory format (DESIGN §5): each value is a
 * closed form of mode, round and client, so a test can compare what the report draws with it.
 */
final class ReportFixtures {

    static final int STEPS = 4;
    static final int CLIENTS = 3;

    private ReportFixtures() {
    }

    static double trainLoss(String mode, int round) {
        return (mode.equals("sfl") ? 3.0 : 3.4) * Math.pow(0.85, round) + 1;
    }

    static double valLoss(String mode, int round) {
        return trainLoss(mode, round) + 0.15;
    }

    static double megabytes(int round) {
        return round + 0.7;
    }

    /** A round's training time (its wall time, 2 + round, less the evaluation). */
    static double trainSeconds(int round) {
        return 1.5 + round;
    }

    static double clientSecondsPerStep(int client, int round) {
        return 0.05 * client + 0.01 * round;
    }

    static int cut(int client, int round) {
        return 1 + (client + round) % 3;
    }

    /** A run directory of {@code rounds} rounds, validation every 2nd round, two evaluations. */
    static Path run(Path dir, String mode, int rounds, boolean cuts) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("run.json"), String.format(Locale.ROOT,
                "{\"run_id\":\"r1\",\"mode\":\"%s\",\"seed\":7,\"rounds\":%d,\"data\":{\"content_hash\":\"abcdef0123456789\"},"
                        + "\"config\":{\"model\":\"builtin:tiny-gpt2\"}}", mode, Math.max(rounds, 1)));
        List<String> lines = new ArrayList<>();
        for (int r = 1; r <= rounds; r++) {
            StringBuilder clients = new StringBuilder();
            StringBuilder cutMap = new StringBuilder();
            for (int c = 0; c < CLIENTS; c++) {
                clients.append(c == 0 ? "" : ",").append(String.format(Locale.ROOT,
                        "{\"client\":%d,\"steps\":%d,\"seconds\":%s}", c, STEPS, clientSecondsPerStep(c, r) * STEPS));
                cutMap.append(c == 0 ? "" : ",").append(String.format(Locale.ROOT, "\"%d\":%d", c, cut(c, r)));
            }
            lines.add(String.format(Locale.ROOT, "{\"round\":%d,\"mode\":\"%s\",\"train_loss\":%s,%s\"seconds\":%s,\"train_seconds\":%s,"
                            + "\"bytes_up\":%d,\"bytes_down\":500000,\"lora_bytes_up\":100000,\"lora_bytes_down\":100000,"
                            + "%s\"per_client\":[%s]}",
                    r, mode, trainLoss(mode, r), r % 2 == 0 ? "\"val_loss\":" + valLoss(mode, r) + "," : "", 2.0 + r, trainSeconds(r),
                    r * 1_000_000L, cuts ? "\"cuts\":{" + cutMap + "}," : "", clients));
        }
        Files.write(dir.resolve("metrics.jsonl"), lines);
        EvalLog.append(org.splitlora.store.RunStore.at(dir), "base model", Map.of("loss", 10.5, "ppl", Math.exp(10.5), "BLEU", 0.01));
        EvalLog.append(org.splitlora.store.RunStore.at(dir), "after training", Map.of("loss", 2.5, "ppl", Math.exp(2.5), "BLEU", 0.42));
        return dir;
    }

    /** The report parsed as XML (it is written to be XHTML-compatible). */
    static Document parse(Path html) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(false);
        return f.newDocumentBuilder().parse(html.toFile());
    }

    /** The element whose {@code id} attribute is {@code id} (a DOM without a DTD knows no ID attributes). */
    static Element byId(Document doc, String id) {
        NodeList all = doc.getElementsByTagName("*");
        for (int i = 0; i < all.getLength(); i++) {
            Element e = (Element) all.item(i);
            if (e.getAttribute("id").equals(id)) {
                return e;
            }
        }
        return null;
    }
}
