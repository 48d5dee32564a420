package org.splitlora.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class LossCurveTest {

    @Test
    void timeAndBytesAccumulateOverEveryRoundAndPointsAreTheEvaluatedOnes() {
        LossCurve c = new LossCurve();
        c.add(1, 2.0, 100, Double.NaN);
        c.add(2, 3.0, 50, 4.0);
        c.add(3, 1.0, 25, Double.NaN);
        c.add(4, 1.5, 25, 3.5);
        assertEquals(List.of(new LossCurve.Point(2, 5.0, 150, 4.0), new LossCurve.Point(4, 7.5, 200, 3.5)), c.points());
        assertEquals(3.5, c.best(), 0);
        assertEquals(2, c.firstReaching(4.0).orElseThrow().round(), "at the target counts as reaching it");
        assertEquals(4, c.firstReaching(3.9).orElseThrow().round());
        assertTrue(c.firstReaching(3.4).isEmpty());
    }

    @Test
    void theCommonTargetIsTheWorstBestLoss() {
        LossCurve a = new LossCurve();
        a.add(1, 1, 1, 3.0);
        a.add(2, 1, 1, 2.0);
        LossCurve b = new LossCurve();
        b.add(1, 1, 1, 2.5);
        assertEquals(2.5, LossCurve.commonTarget(List.of(a, b)), 0);
        assertEquals(2, a.firstReaching(2.5).orElseThrow().round());
        assertTrue(Double.isNaN(LossCurve.commonTarget(List.of(a, new LossCurve()))), "a run without an evaluation");
        assertTrue(Double.isNaN(LossCurve.commonTarget(List.of())));
    }
}
