package org.splitlora.federation;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import org.splitlora.datasets.TokenizedExample;
import scala.Tuple2;

/**
 * One client task's input: the rows of its partition (one client's shard) and the start shipped
 * with them. {@code rowsClient} is the client the rows belong to, -1 when there are none.
 */
record ClientInput(ClientStart start, int rowsClient, List<TokenizedExample> examples) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Zips a partition of the shards with its start (ClientStage ships one per partition). */
    static Iterator<ClientInput> of(Iterator<Tuple2<Integer, TokenizedExample>> rows, Iterator<ClientStart> starts) {
        List<TokenizedExample> examples = new ArrayList<>();
        int client = -1;
        while (rows.hasNext()) {
            Tuple2<Integer, TokenizedExample> t = rows.next();
            client = t._1();
            examples.add(t._2());
        }
        examples.sort(Comparator.comparingLong(TokenizedExample::exampleId));
        ClientStart start = starts.next();
        if (starts.hasNext()) {
            throw new IllegalStateException("partition of client " + start.clientId() + " got more than one start");
        }
        return List.of(new ClientInput(start, client, examples)).iterator();
    }
}
