package org.splitlora.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.splitlora.util.Seeds;

/** Seeded reshuffle every epoch; hands out batches of indices, the last one of an epoch may be short. */
public final class EpochSampler {

    private final int size;
    private final long seed;
    private int epoch;
    private int cursor;
    private List<Integer> order;

    public EpochSampler(int size, long seed) {
        if (size < 1) {
            throw new IllegalArgumentException("no examples to sample from");
        }
        this.size = size;
        this.seed = seed;
        this.order = shuffled(0);
    }

    private List<Integer> shuffled(int e) {
        List<Integer> o = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            o.add(i);
        }
        Collections.shuffle(o, new Random(Seeds.derive(seed, e)));
        return o;
    }

    public List<Integer> next(int batchSize) {
        if (cursor >= size) {
            epoch++;
            cursor = 0;
            order = shuffled(epoch);
        }
        int end = Math.min(size, cursor + batchSize);
        List<Integer> out = List.copyOf(order.subList(cursor, end));
        cursor = end;
        return out;
    }

}
