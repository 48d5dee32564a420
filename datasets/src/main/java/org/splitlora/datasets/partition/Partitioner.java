package org.splitlora.datasets.partition;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.apache.commons.math3.distribution.GammaDistribution;
import org.apache.commons.math3.random.RandomGenerator;
import org.apache.commons.math3.random.Well19937c;
import org.splitlora.datasets.EnumOption;

/**
 * Assigns examples to clients. Everything is a function of the spec (its seed included) and the
 * inputs in the order given, so the same call always gives the same partition.
 *
 * <p>Dirichlet partitions follow the usual federated-learning recipe (Hsu et al. 2019; NIID-Bench):
 * for every class, shuffle its examples, draw client proportions p ~ Dir(α·1), and cut the
 * shuffled list at the cumulative proportions. If a client ends with fewer than the minimum
 * examples, the whole partition is drawn again from the next seed of the stream.
 */
public final class Partitioner {

    private Partitioner() {}

    /**
     * @param lengths tokenized length of each example
     * @param labels class label of each example (null entries form their own class); needed for
     *     {@link PartitionMethod#DIRICHLET} only
     */
    public static Partition assign(PartitionSpec spec, int[] lengths, String[] labels) {
        int n = lengths.length;
        if (n < (long) spec.clients() * spec.minExamples()) {
            throw new IllegalArgumentException(n + " training examples cannot give " + spec.clients()
                    + " clients at least " + spec.minExamples() + " each; lower clients or min-examples");
        }
        return switch (spec.method()) {
            case IID -> iid(spec, n);
            case DIRICHLET -> {
                if (labels == null) {
                    throw new IllegalArgumentException(
                            "partition dirichlet needs a label: set label-field (e.g. eatType for E2E)");
                }
                yield dirichlet(spec, labelClasses(labels));
            }
            case LENGTH_DIRICHLET -> dirichlet(spec, lengthBuckets(lengths, spec.buckets()));
            case LABEL -> byLabel(spec, labels);
        };
    }

    /** Client c holds the examples of the c-th label in {@link #labelOrder} order. */
    private static Partition byLabel(PartitionSpec spec, String[] labels) {
        if (labels == null) {
            throw new IllegalArgumentException("partition label needs a label: set label-field to the field naming each row's client");
        }
        long unlabelled = Arrays.stream(labels).filter(l -> l == null).count();
        if (unlabelled > 0) {
            throw new IllegalArgumentException("partition label: " + unlabelled + " training examples have no label, so no client");
        }
        List<String> order = labelOrder(labels);
        if (order.size() != spec.clients()) {
            throw new IllegalArgumentException("partition label: the training examples have " + order.size()
                    + " distinct labels (clients), but clients is " + spec.clients());
        }
        Map<String, Integer> clientOf = new HashMap<>();
        for (int c = 0; c < order.size(); c++) {
            clientOf.put(order.get(c), c);
        }
        int[] out = Arrays.stream(labels).mapToInt(clientOf::get).toArray();
        int[] sizes = new int[spec.clients()];
        for (int c : out) {
            sizes[c]++;
        }
        for (int c = 0; c < sizes.length; c++) {
            if (sizes[c] < spec.minExamples()) {
                throw new IllegalArgumentException("partition label: client " + c + " ('" + order.get(c) + "') has "
                        + sizes[c] + " training examples (min-examples " + spec.minExamples() + ")");
            }
        }
        return new Partition(out, out.clone(), 1);
    }

    /** The distinct labels in client order: by value when every label is an integer (2 before 10), else by name. */
    public static List<String> labelOrder(String[] labels) {
        List<String> distinct = Arrays.stream(labels).filter(l -> l != null).distinct().toList();
        boolean integers = distinct.stream().allMatch(l -> l.matches("-?\\d{1,18}"));
        return distinct.stream().sorted(integers ? Comparator.comparingLong(Long::parseLong) : Comparator.naturalOrder()).toList();
    }

    private static Partition iid(PartitionSpec spec, int n) {
        int[] order = permutation(n, new SplittableRandom(spec.seed()));
        int[] clientOf = new int[n];
        for (int r = 0; r < n; r++) {
            clientOf[order[r]] = (int) ((long) r * spec.clients() / n);
        }
        return new Partition(clientOf, new int[n], 1);
    }

    private static Partition dirichlet(PartitionSpec spec, int[] classOf) {
        int n = classOf.length;
        int classes = Arrays.stream(classOf).max().orElse(-1) + 1;
        List<int[]> members = new ArrayList<>();
        for (int k = 0; k < classes; k++) {
            final int kk = k;
            members.add(IntStream.range(0, n).filter(i -> classOf[i] == kk).toArray());
        }
        SplittableRandom seeds = new SplittableRandom(spec.seed());
        int[] sizes = new int[spec.clients()];
        for (int draw = 1; draw <= spec.maxDraws(); draw++) {
            long drawSeed = seeds.nextLong();
            SplittableRandom shuffleRng = new SplittableRandom(drawSeed);
            RandomGenerator gammaRng = new Well19937c(drawSeed ^ 0x9E3779B97F4A7C15L);
            int[] clientOf = new int[n];
            for (int[] m : members) {
                int[] order = shuffled(m.clone(), shuffleRng);
                double[] p = dirichletSample(spec.alpha(), spec.clients(), gammaRng, shuffleRng);
                double cum = 0;
                int start = 0;
                for (int c = 0; c < spec.clients(); c++) {
                    cum += p[c];
                    int end = c == spec.clients() - 1 ? order.length : (int) Math.round(cum * order.length);
                    end = Math.max(start, Math.min(end, order.length));
                    for (int r = start; r < end; r++) {
                        clientOf[order[r]] = c;
                    }
                    start = end;
                }
            }
            Arrays.fill(sizes, 0);
            for (int c : clientOf) {
                sizes[c]++;
            }
            if (Arrays.stream(sizes).min().orElse(0) >= spec.minExamples()) {
                return new Partition(clientOf, classOf, draw);
            }
        }
        int worst = IntStream.range(0, sizes.length).boxed().min(Comparator.comparingInt(c -> sizes[c])).orElse(0);
        throw new IllegalArgumentException("partition " + EnumOption.key(spec.method()) + " with alpha " + spec.alpha()
                + " left client " + worst + " with " + sizes[worst] + " examples (min-examples "
                + spec.minExamples() + ") in all " + spec.maxDraws()
                + " draws; raise alpha, or lower clients or min-examples");
    }

    /** p ~ Dir(α·1) through normalised Gamma(α, 1) draws; an all-zero underflow (tiny α) puts all mass on one client. */
    static double[] dirichletSample(double alpha, int k, RandomGenerator gammaRng, SplittableRandom fallback) {
        GammaDistribution gamma = new GammaDistribution(gammaRng, alpha, 1.0);
        double[] p = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) {
            p[i] = gamma.sample();
            sum += p[i];
        }
        if (!(sum > 0)) {
            Arrays.fill(p, 0);
            p[fallback.nextInt(k)] = 1;
            return p;
        }
        for (int i = 0; i < k; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** Classes 0..K-1 from labels sorted by name (null last), so the class ids do not depend on row order. */
    static int[] labelClasses(String[] labels) {
        String[] distinct = Arrays.stream(labels).filter(l -> l != null).distinct().sorted().toArray(String[]::new);
        int[] out = new int[labels.length];
        for (int i = 0; i < labels.length; i++) {
            int k = labels[i] == null ? -1 : Arrays.binarySearch(distinct, labels[i]);
            out[i] = k < 0 ? distinct.length : k;
        }
        return out;
    }

    /**
     * Length quantile buckets: examples sorted by (length, position) and cut into K runs of equal
     * size, so every bucket holds n/K examples even when lengths tie.
     */
    static int[] lengthBuckets(int[] lengths, int k) {
        int n = lengths.length;
        Integer[] order = IntStream.range(0, n).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.<Integer>comparingInt(i -> lengths[i]).thenComparingInt(i -> i));
        int[] out = new int[n];
        for (int r = 0; r < n; r++) {
            out[order[r]] = (int) ((long) r * k / n);
        }
        return out;
    }

    /** A seeded Fisher-Yates permutation of 0..n-1. */
    public static int[] permutation(int n, SplittableRandom rng) {
        return shuffled(IntStream.range(0, n).toArray(), rng);
    }

    private static int[] shuffled(int[] a, SplittableRandom rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }
}
