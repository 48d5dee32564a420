package org.splitlora.federation;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.splitlora.util.Seeds;

/** Picks each round's clients: a seeded sample of fixed size, the same for a given (seed, round). */
public final class ClientSampler {

    private final List<Integer> clients;
    private final int perRound;
    private final long seed;

    public ClientSampler(List<Integer> clients, int perRound, long seed) {
        if (perRound < 1 || perRound > clients.size()) {
            throw new IllegalArgumentException("clients per round must be in [1, " + clients.size() + "], got " + perRound);
        }
        this.clients = List.copyOf(clients);
        this.perRound = perRound;
        this.seed = seed;
    }

    /** Clients per round from federation.clientsPerRound, or else the fraction (at least one). */
    public static int perRound(int clients, int count, double fraction) {
        if (count > 0) {
            if (count > clients) {
                throw new IllegalArgumentException("federation.clientsPerRound is " + count + " but the data has " + clients + " clients");
            }
            return count;
        }
        return Math.max(1, (int) Math.round(fraction * clients));
    }

    public int perRound() {
        return perRound;
    }

    /** The clients of {@code round}, in ascending id order. */
    public List<Integer> select(int round) {
        if (perRound == clients.size()) {
            return clients;
        }
        List<Integer> shuffled = new ArrayList<>(clients);
        Collections.shuffle(shuffled, new Random(Seeds.derive(seed, 0x73616d706c65L, round)));
        List<Integer> chosen = new ArrayList<>(shuffled.subList(0, perRound));
        Collections.sort(chosen);
        return chosen;
    }
}
