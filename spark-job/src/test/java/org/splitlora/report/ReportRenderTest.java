package org.splitlora.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report rendered by a real browser (Debian's headless Chromium, which {@code .ci/run}
 * installs): the page with runs shows their plot lines in the series colours, far more of them
 * than the same page with no rounds (legend swatches only). Where Chromium is missing the test is
 * skipped, unless {@code SPLITLORA_REQUIRE_CHROMIUM} is set (CI), where it fails.
 */
class ReportRenderTest {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final int FIRST_SERIES = 0x1f77b4;

    @TempDir
    Path tmp;

    @Test
    void chromiumDrawsThePlots() throws Exception {
        boolean required = System.getenv("SPLITLORA_REQUIRE_CHROMIUM") != null;
        assertTrue(Files.isExecutable(CHROMIUM) || !required, "SPLITLORA_REQUIRE_CHROMIUM is set but " + CHROMIUM + " is missing");
        assumeTrue(Files.isExecutable(CHROMIUM), "Debian chromium is not installed");

        Path full = ReportFixtures.run(tmp.resolve("full"), "sfl", 8, false);
        Path empty = ReportFixtures.run(tmp.resolve("empty"), "sfl", 0, false);
        ReportWriter.write(org.splitlora.store.RunStore.at(full));
        ReportWriter.write(org.splitlora.store.RunStore.at(empty));

        long drawn = seriesPixels(screenshot(full.resolve(ReportWriter.FILE)));
        long legendOnly = seriesPixels(screenshot(empty.resolve(ReportWriter.FILE)));
        assertTrue(legendOnly > 0, "the legend swatches render");
        assertTrue(drawn > legendOnly + 1500, "plot lines drawn: " + drawn + " series-coloured pixels vs " + legendOnly + " without data");
    }

    private BufferedImage screenshot(Path html) throws IOException, InterruptedException {
        Path png = html.resolveSibling("shot.png");
        Process p = new ProcessBuilder(CHROMIUM.toString(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + tmp.resolve("profile-" + html.getParent().getFileName()), "--hide-scrollbars",
                "--window-size=1300,2200", "--screenshot=" + png, html.toUri().toString())
                .redirectErrorStream(true).redirectOutput(tmp.resolve("chromium.log").toFile()).start();
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "chromium did not finish in 90 s");
        assertEquals(0, p.exitValue(), () -> "chromium failed: " + read(tmp.resolve("chromium.log")));
        BufferedImage img = ImageIO.read(png.toFile());
        assertTrue(img != null && img.getWidth() == 1300, "a 1300 px wide screenshot");
        return img;
    }

    private static long seriesPixels(BufferedImage img) {
        long n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if ((img.getRGB(x, y) & 0xffffff) == FIRST_SERIES) {
                    n++;
                }
            }
        }
        return n;
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
