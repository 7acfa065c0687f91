package dev.frugal.cuda.cudnn;

/** A Java enum mirroring a cuDNN C enum: each constant knows its C value. */
interface CudnnEnum {
  /** The C enum value. */
  int value();

  /**
   * The constant of {@code type} whose C value is {@code value}.
   *
   * @param cType the C type's name, for the message
   * @throws IllegalArgumentException if no constant has that value
   */
  static <E extends Enum<E> & CudnnEnum> E of(Class<E> type, int value, String cType) {
    for (E constant : type.getEnumConstants()) {
      if (constant.value() == value) {
        return constant;
      }
    }
    throw new IllegalArgumentException(cType + " " + value + " has no " + type.getSimpleName() + " constant");
  }
}
