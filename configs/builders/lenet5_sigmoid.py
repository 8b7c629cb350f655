"""Lesson 5's plain LeNet-5 as its source built it: the same layers as nnlab's ``lenet5``
(conv 6@5x5 same relu, max-pool, conv 16@5x5 same relu, max-pool, dense 120 and 84 relu),
but with a sigmoid output layer of 10 units where nnlab uses softmax. Keras'
sparse categorical cross-entropy rescales the ten sigmoid outputs to sum to one."""

import keras


def build(input_shape, num_outputs):
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for filters in (6, 16):
        x = keras.layers.Conv2D(filters, 5, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    for units in (120, 84):
        x = keras.layers.Dense(units, activation="relu")(x)
    outputs = keras.layers.Dense(num_outputs, activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="lenet5_sigmoid")
