package org.splitlora.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import org.splitlora.datasets.EnumOption;
import org.splitlora.model.nn.Torch;

/**
 * Where one role computes (the split server, the clients, the driver's whole model, generation):
 * {@code auto} is a GPU when PyTorch sees one, else the CPU. A choice travels as itself and is
 * resolved on the machine that runs the role, since a driver and its executors may differ. Every
 * root {@link NDManager} of the product is made on a device resolved from a choice, never on DJL's
 * default device, which is a GPU wherever one is visible: {@code cpu} keeps a role off every GPU.
 */
public enum DeviceChoice {
    AUTO, CPU, GPU;

    /** {@code auto}, {@code cpu} or {@code gpu}; an error naming {@code key} otherwise. */
    public static DeviceChoice parse(String text, String key) {
        return EnumOption.parse(DeviceChoice.class, text, key);
    }

    /** The device on this machine; {@code gpu} where PyTorch sees none is an error naming {@code key}. */
    public Device resolve(String key) {
        if (this == CPU) {
            return Device.cpu(); // without asking CUDA anything
        }
        int gpus = Torch.engine().getGpuCount();
        if (this == GPU && gpus == 0) {
            throw new IllegalArgumentException(key + " = gpu, but PyTorch sees no GPU (the default build ships the CPU "
                    + "library; see the README's GPU build), use auto or cpu");
        }
        return gpus > 0 ? Device.gpu() : Device.cpu();
    }

    /** A root manager on this choice's device. */
    public NDManager newManager(String key) {
        return NDManager.newBaseManager(resolve(key));
    }

    public String key() {
        return EnumOption.key(this);
    }
}
