package dev.frugal.trainer.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.frugal.trainer.data.Batch;
import dev.frugal.trainer.data.DataLoader;
import dev.frugal.trainer.data.ImageDataset;
import dev.frugal.trainer.data.LoaderOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code --augment SPEC}: the forms, the errors, and what it does to a loader's batches. */
class AugmentSpecTest {

    @Test
    void parsesNoneCropFlipAndBoth() {
        assertEquals(AugmentSpec.NONE, AugmentSpec.parse("none"));
        assertEquals(new AugmentSpec(2, false), AugmentSpec.parse("crop=2"));
        assertEquals(new AugmentSpec(0, true), AugmentSpec.parse("flip"));
        assertEquals(new AugmentSpec(3, true), AugmentSpec.parse(" flip , crop=3 "));
        assertEquals("crop=3,flip", AugmentSpec.parse("flip,crop=3").toString());
        assertEquals("none", AugmentSpec.NONE.toString());
        assertFalse(AugmentSpec.NONE.enabled());
    }

    @Test
    void invalidSpecsListTheValidForms() {
        for (String bad : List.of("", "crop", "crop=", "crop=0", "crop=-1", "crop=x", "flip,flip", "crop=1,crop=2",
                "rotate", "crop=2,", "none,flip")) {
            ConfigException e = assertThrows(ConfigException.class, () -> AugmentSpec.parse(bad), bad);
            assertTrue(e.getMessage().contains("valid: none, or a comma list of crop=P") && e.getMessage().contains("flip"),
                    e.getMessage());
        }
    }

    @Test
    void cropPaddingIsAtMostHalfTheImage() {
        assertEquals(new AugmentSpec(14, false), AugmentSpec.parse("crop=14").checkFits(28, 28));
        ConfigException e = assertThrows(ConfigException.class, () -> AugmentSpec.parse("crop=15").checkFits(28, 28));
        assertTrue(e.getMessage().contains("P must be from 1 to 14"), e.getMessage());
    }

    @Test
    void theConfigKeyIsCheckedAndStoredCanonically() {
        assertEquals("none", TrainConfig.defaults().augment());
        assertEquals("crop=2,flip", TrainConfig.defaults().withOverrides(Map.of("augment", "FLIP,crop=2")).augment());
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainConfig.defaults().withOverrides(Map.of("augment", "crop=2,mirror")));
        assertTrue(e.getMessage().contains("'mirror' is not crop=P or flip"), e.getMessage());
    }

    @Test
    void augmentationChangesTheBatchesAndIsReproducible() throws Exception {
        LoaderOptions base = LoaderOptions.of(8).withSeed(5);
        List<float[]> plain = images(base);
        List<float[]> augmented = images(AugmentSpec.parse("crop=2,flip").applyTo(base));
        List<float[]> again = images(AugmentSpec.parse("crop=2,flip").applyTo(base));
        assertEquals(plain.size(), augmented.size());
        assertFalse(Arrays.equals(plain.getFirst(), augmented.getFirst()), "augmentation must change the images");
        for (int i = 0; i < augmented.size(); i++) {
            assertArrayEquals(augmented.get(i), again.get(i), "same seed, same augmented batch " + i);
        }
        List<float[]> none = images(AugmentSpec.NONE.applyTo(base));
        for (int i = 0; i < plain.size(); i++) {
            assertArrayEquals(plain.get(i), none.get(i), "none leaves the batches alone");
        }
    }

    /** Epoch 0 of 16 distinct 8x8 images, as copies. */
    private static List<float[]> images(LoaderOptions options) throws Exception {
        List<float[]> out = new ArrayList<>();
        DataLoader.Source source = () -> {
            byte[] pixels = new byte[16 * 64];
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = (byte) (1 + (i * 37) % 250);
            }
            return ImageDataset.of(pixels, new byte[16], 8, 8, 10);
        };
        try (DataLoader loader = new DataLoader(source, options);
             DataLoader.Epoch epoch = loader.epoch(0)) {
            while (epoch.hasNext()) {
                Batch b = epoch.next();
                out.add(b.images().toFloatArray());
            }
        }
        return out;
    }
}
