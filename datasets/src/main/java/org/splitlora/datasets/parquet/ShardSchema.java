package org.splitlora.datasets.parquet;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.splitlora.datasets.TokenizedExample;
import org.splitlora.datasets.encode.EncodedRow;
import scala.collection.Seq;

/**
 * The columns of a prepared shard (DESIGN §4): {@code example_id} long, {@code input_ids}
 * array&lt;int&gt;, {@code loss_mask} array&lt;byte&gt; (1 = target token), {@code length} int,
 * and {@code label} string where the source has one. Training shards are partitioned by
 * {@code client_id}.
 */
public final class ShardSchema {

    public static final String EXAMPLE_ID = "example_id";
    public static final String INPUT_IDS = "input_ids";
    public static final String LOSS_MASK = "loss_mask";
    public static final String LENGTH = "length";
    public static final String LABEL = "label";
    public static final String CLIENT_ID = "client_id";

    private ShardSchema() {}

    public static StructType schema(boolean withLabel, boolean withClient) {
        List<StructField> f = new ArrayList<>();
        f.add(DataTypes.createStructField(EXAMPLE_ID, DataTypes.LongType, false));
        f.add(DataTypes.createStructField(INPUT_IDS, DataTypes.createArrayType(DataTypes.IntegerType, false), false));
        f.add(DataTypes.createStructField(LOSS_MASK, DataTypes.createArrayType(DataTypes.ByteType, false), false));
        f.add(DataTypes.createStructField(LENGTH, DataTypes.IntegerType, false));
        if (withLabel) {
            f.add(DataTypes.createStructField(LABEL, DataTypes.StringType, true));
        }
        if (withClient) {
            f.add(DataTypes.createStructField(CLIENT_ID, DataTypes.IntegerType, false));
        }
        return DataTypes.createStructType(f);
    }

    /** A row in {@link #schema} order; {@code clientId} null for rows without the column. */
    public static Row toRow(EncodedRow r, boolean withLabel, Integer clientId) {
        List<Object> v = new ArrayList<>(6);
        v.add(r.exampleId());
        v.add(r.inputIds());
        v.add(r.lossMask());
        v.add(r.length());
        if (withLabel) {
            v.add(r.label());
        }
        if (clientId != null) {
            v.add(clientId);
        }
        return RowFactory.create(v.toArray());
    }

    /** Reads a shard row back into an example. */
    public static TokenizedExample example(Row row) {
        Seq<Object> ids = row.getSeq(row.fieldIndex(INPUT_IDS));
        Seq<Object> mask = row.getSeq(row.fieldIndex(LOSS_MASK));
        int[] inputIds = new int[ids.size()];
        byte[] lossMask = new byte[mask.size()];
        for (int i = 0; i < inputIds.length; i++) {
            inputIds[i] = (Integer) ids.apply(i);
            lossMask[i] = (Byte) mask.apply(i);
        }
        return new TokenizedExample(row.getLong(row.fieldIndex(EXAMPLE_ID)), inputIds, lossMask);
    }
}
