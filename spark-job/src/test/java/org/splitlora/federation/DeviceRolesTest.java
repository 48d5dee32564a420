package org.splitlora.federation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.splitlora.api.SplitLoraTrainer;
import org.splitlora.cli.CliRun;
import org.splitlora.config.TrainConfig;
import org.splitlora.eval.generate.BatchGeneration;
import org.splitlora.model.DeviceChoice;
import org.splitlora.model.ModelSource;
import org.splitlora.model.generate.GenerationConfig;
import org.splitlora.model.nn.Torch;
import org.splitlora.testutil.SyntheticShards;

/**
 * Every role computes on the device it is given, and none on DJL's default device: here the
 * engine's default is set to a GPU this machine does not have, so an array made on any manager
 * created without a device fails. With every role on the CPU, each mode's training (clients,
 * split server, the driver's validation), generation on executors and the CLI's generate and
 * eval still run, which they can only do if no manager of theirs took the default.
 */
class DeviceRolesTest {

    private static final String MODEL = "builtin:tiny-gpt2";

    @TempDir
    static Path tmp;
    static Path data;
    static SparkSession spark;
    private static Device previousDefault;
    private static NDManager system;
    private static Device previousSystemDevice;

    @BeforeAll
    static void armTheTrap() throws Exception {
        data = SyntheticShards.prepare(Files.createDirectory(tmp.resolve("data")), 60, 7, 3, MODEL);
        spark = SparkSession.builder().master("local[3,4]").appName("device roles").getOrCreate();
        // a manager made without a device takes the system manager's (NDManager.newBaseManager())
        // or the engine's default (newBaseManager(null)); both were fixed when first used, so both
        // are set, as a machine with a GPU has them
        Engine engine = Torch.engine();
        previousDefault = engine.defaultDevice();
        try (NDManager probe = NDManager.newBaseManager(Device.cpu())) {
            system = probe.getParentManager(); // made now if not yet, before either default changes
        }
        previousSystemDevice = system.getDevice();
        field(Engine.class, "defaultDevice").set(engine, Device.gpu());
        field(BaseNDManager.class, "device").set(system, Device.gpu());
    }

    @AfterAll
    static void disarm() throws Exception {
        field(Engine.class, "defaultDevice").set(Torch.engine(), previousDefault);
        field(BaseNDManager.class, "device").set(system, previousSystemDevice);
        spark.stop();
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(previousSystemDevice, m.getDevice(), "later tests get the default they had");
        }
    }

    /** DJL has no setter for either default. */
    private static Field field(Class<?> owner, String name) throws NoSuchFieldException {
        Field f = owner.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }

    @Test
    void theTrapCatchesAManagerWithoutADevice() {
        try (NDManager m = NDManager.newBaseManager(); NDManager n = NDManager.newBaseManager((Device) null)) {
            assertEquals(Device.gpu(), m.getDevice());
            assertEquals(Device.gpu(), n.getDevice());
            assertThrows(EngineException.class, () -> m.zeros(new Shape(2)));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"central", "fl", "sl", "sfl", "splitft"})
    void everyModeTrainsAndValidatesOnTheDevicesItIsGiven(String mode) throws IOException {
        Path out = tmp.resolve("run-" + mode);
        TrainConfig cfg = TrainConfig.load(null, List.of("model=" + MODEL, "data.dir=\"" + data + "\"", "out=\"" + out + "\"",
                "mode=" + mode, "split.cut=2", "train.rounds=2", "train.localSteps=1", "train.batchSize=4",
                "train.microBatchSize=2", "federation.clientsPerRound=2", "data.maxValidExamples=4", "train.evalEvery=1",
                "devices.server=cpu", "devices.client=cpu"));
        assertEquals(new TrainConfig.Devices(DeviceChoice.CPU, DeviceChoice.CPU, DeviceChoice.CPU), cfg.devices());
        SplitLoraTrainer.of(cfg).fit(spark);
        List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        assertEquals(2, lines.size());
        for (String line : lines) {
            JsonObject round = JsonParser.parseString(line).getAsJsonObject();
            assertTrue(Double.isFinite(round.get("val_loss").getAsDouble()), mode + ": " + line);
        }
    }

    @Test
    void generationOnExecutorsAndTheCliCommandsRunOnTheCpu() {
        GenerationConfig greedy = GenerationConfig.greedy(5, Set.of(ModelSource.of(MODEL).config().eosTokenId()));
        List<String> prompts = new ArrayList<>(List.of("name : The Eagle", "food : French", "area : riverside"));
        List<Row> rows = BatchGeneration.onExecutors(spark, MODEL, DeviceChoice.CPU, null, greedy, prompts, 2).collectAsList();
        assertEquals(3, rows.size());
        // auto is the CPU where PyTorch sees no GPU
        assertEquals(BatchGeneration.local(MODEL, DeviceChoice.CPU, null, greedy, prompts),
                BatchGeneration.local(MODEL, DeviceChoice.AUTO, null, greedy, prompts));
        CliRun generate = CliRun.of("generate", "--model", MODEL, "--prompt", "hello", "--max-new-tokens", "3", "--device", "cpu");
        assertEquals(0, generate.code(), generate.err());
        CliRun eval = CliRun.of("eval", "--model", MODEL, "--prepared", data.toString(), "--max-examples", "4", "--device", "cpu");
        assertEquals(0, eval.code(), eval.err());
        CliRun gpu = CliRun.of("generate", "--model", MODEL, "--prompt", "hello", "--device", "gpu");
        assertTrue(gpu.code() != 0 && gpu.err().contains("--device = gpu, but PyTorch sees no GPU"), gpu.err());
    }

    @Test
    void gpuWithoutOneIsAnErrorNamingTheRole() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceChoice.GPU.resolve("devices.server"));
        assertTrue(e.getMessage().startsWith("devices.server = gpu, but PyTorch sees no GPU"), e.getMessage());
        assertEquals(Device.cpu(), DeviceChoice.CPU.resolve("devices.client"));
    }
}
