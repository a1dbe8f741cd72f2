"""The engine: Tensor, Function, the backward walk, grad mode and the textbook ops."""
