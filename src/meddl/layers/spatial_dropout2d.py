"""``SpatialDropout2D``: drop whole feature maps (channels) of images during training."""

from __future__ import annotations

from meddl.layers.spatial_dropout import SpatialDropoutND

__all__ = ["SpatialDropout2D"]


class SpatialDropout2D(SpatialDropoutND):
    """Zero each channel of each image with probability ``rate`` in training (scaled by 1/(1−rate)).

    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels
    (``Dropout``) barely regularises a convolutional network; dropping whole maps does
    (Tompson et al. 2015). Identity at inference.

    Example:
        >>> from meddl.layers import SpatialDropout2D
        >>> layer = SpatialDropout2D(0.2)
    """

    rank = 2
