package org.splitlora.datasets.partition;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.apache.commons.math3.random.Well19937c;
import org.junit.jupiter.api.Test;

/** The partitioners without Spark: shares, reproducibility, and the Dirichlet draws against their known moments. */
class PartitionerTest {

    @Test
    void iidGivesEqualSharesReproducibly() {
        int[] lengths = new int[1003];
        Partition a = Partitioner.assign(PartitionSpec.iid(10, 5), lengths, null);
        int[] sizes = new int[10];
        for (int c : a.clientOf()) {
            sizes[c]++;
        }
        assertTrue(Arrays.stream(sizes).max().orElseThrow() - Arrays.stream(sizes).min().orElseThrow() <= 1,
                Arrays.toString(sizes));
        assertArrayEquals(a.clientOf(), Partitioner.assign(PartitionSpec.iid(10, 5), lengths, null).clientOf());
        assertFalse(Arrays.equals(a.clientOf(), Partitioner.assign(PartitionSpec.iid(10, 6), lengths, null).clientOf()));
    }

    @Test
    void lengthBucketsAreEqualSizedQuantiles() {
        int[] lengths = new SplittableRandom(1).ints(1000, 5, 200).toArray();
        int[] bucket = Partitioner.lengthBuckets(lengths, 4);
        int[] max = new int[4];
        int[] min = {Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE};
        int[] count = new int[4];
        for (int i = 0; i < lengths.length; i++) {
            count[bucket[i]]++;
            max[bucket[i]] = Math.max(max[bucket[i]], lengths[i]);
            min[bucket[i]] = Math.min(min[bucket[i]], lengths[i]);
        }
        assertArrayEquals(new int[] {250, 250, 250, 250}, count);
        for (int k = 1; k < 4; k++) {
            assertTrue(min[k] >= max[k - 1], "bucket " + k + " starts where bucket " + (k - 1) + " ends");
        }
    }

    /** E[p_i] = 1/k and Var[p_i] = (1/k)(1 - 1/k) / (kα + 1) for Dir(α·1_k). */
    @Test
    void dirichletDrawsHaveTheKnownMoments() {
        int k = 5;
        for (double alpha : new double[] {0.1, 1, 100}) {
            Well19937c rng = new Well19937c(3);
            SplittableRandom fallback = new SplittableRandom(3);
            int n = 20000;
            double sum = 0;
            double sumSq = 0;
            for (int t = 0; t < n; t++) {
                double[] p = Partitioner.dirichletSample(alpha, k, rng, fallback);
                assertEquals(1.0, Arrays.stream(p).sum(), 1e-9);
                sum += p[0];
                sumSq += p[0] * p[0];
            }
            double mean = sum / n;
            double var = sumSq / n - mean * mean;
            double expectedVar = (1.0 / k) * (1 - 1.0 / k) / (k * alpha + 1);
            assertEquals(0.2, mean, 0.01, "mean at alpha " + alpha);
            assertEquals(expectedVar, var, 0.05 * expectedVar, "variance at alpha " + alpha);
        }
    }

    @Test
    void dirichletSplitsEveryClassAndRedrawsForTheMinimum() {
        String[] labels = new String[600];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % 3 == 0 ? null : "class" + (i % 3);
        }
        PartitionSpec spec = new PartitionSpec(PartitionMethod.DIRICHLET, 6, 0.2, 10, 20, 1000, 9);
        Partition p = Partitioner.assign(spec, new int[600], labels);
        int[] sizes = new int[6];
        for (int c : p.clientOf()) {
            sizes[c]++;
        }
        assertTrue(Arrays.stream(sizes).min().orElseThrow() >= 20, Arrays.toString(sizes));
        assertTrue(p.draws() >= 1);
        assertEquals(3, Arrays.stream(p.classOf()).distinct().count(), "two labels and the missing-label class");
        assertArrayEquals(p.clientOf(), Partitioner.assign(spec, new int[600], labels).clientOf());
    }

    @Test
    void labelPartitionGivesEachLabelItsClientInValueOrder() {
        PartitionSpec three = new PartitionSpec(PartitionMethod.LABEL, 3, 0, 0, 1, 1, 9);
        // integers by value (2 before 10), not by name
        assertArrayEquals(new int[] {2, 1, 1, 0, 2},
                Partitioner.assign(three, new int[5], new String[] {"10", "2", "2", "0", "10"}).clientOf());
        assertArrayEquals(new int[] {1, 2, 0},
                Partitioner.assign(three, new int[3], new String[] {"b", "site-c", "a"}).clientOf());
        assertEquals(java.util.List.of("0", "2", "10"), Partitioner.labelOrder(new String[] {"10", "2", "0", "2"}));

        IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                () -> Partitioner.assign(three, new int[4], new String[] {"0", "1", "1", "0"}));
        assertEquals("partition label: the training examples have 2 distinct labels (clients), but clients is 3", count.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> Partitioner.assign(three, new int[4], new String[] {"0", "1", null, "2"}));
        assertEquals("partition label: 1 training examples have no label, so no client", missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Partitioner.assign(three, new int[4], null));
        PartitionSpec twoEach = new PartitionSpec(PartitionMethod.LABEL, 2, 0, 0, 2, 1, 9);
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> Partitioner.assign(twoEach, new int[4], new String[] {"x", "y", "y", "y"}));
        assertEquals("partition label: client 0 ('x') has 1 training examples (min-examples 2)", small.getMessage());
    }
}
