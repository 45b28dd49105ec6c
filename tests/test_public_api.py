"""Guard the public names: each package's __all__ exists, resolves, and the top level is what we promise."""

import importlib

import pytest

import meddl

PACKAGES = ["meddl", "meddl.layers", "meddl.models", "meddl.training", "meddl.data", "meddl.evaluation",
            "meddl.runs", "meddl.studies", "meddl.report", "meddl.sections", "meddl.saving", "meddl.validation",
            "meddl.errors", "meddl.io", "meddl.explain", "meddl.survival", "meddl.treatment",
            "meddl.serving", "meddl.optimizers", "meddl.losses", "meddl.metrics", "meddl.callbacks", "meddl.utils",
            "meddl.regularizers", "meddl.activations", "meddl.backend", "meddl.initializers", "meddl.ops",
            "meddl.random"]


def test_top_level_api():
    assert set(meddl.__all__) == {
        "ConfigError", "DataError", "History", "MeddlError", "ModelFileError", "NotFittedError", "Run", "RunConfig",
        "Sequential", "__version__", "cross_validate", "learning_curve", "load_config", "load_model", "load_run",
        "pretrain", "set_seed", "train",
        # Keras's names (issue 16)
        "Input", "Model", "callbacks", "losses", "metrics", "models", "optimizers", "utils",
        "regularizers",  # Keras's kernel_regularizer=meddl.regularizers.l2(0.01)
        "activations", "backend", "initializers",  # Keras's activation=meddl.activations.relu6, RandomNormal(stddev=0.01)
        "ops", "random",  # keras.ops and keras.random in the call of a custom layer
    }


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_resolves(name):
    module = importlib.import_module(name)
    assert module.__all__, name
    assert len(set(module.__all__)) == len(module.__all__)
    for public in module.__all__:
        assert hasattr(module, public), f"{name}.{public}"


@pytest.mark.parametrize("namespace, name, message", [
    ("meddl.layers", "StringLookup", "a Keras name meddl does not have.*OrdinalEncoder.*Embedding"),
    ("meddl.layers", "Dnese", "has no 'Dnese'. Did you mean 'Dense'"),
    ("meddl.callbacks", "TensorBoard", "CSVLogger.*MLflow"),
    ("meddl.ops", "meen", "Did you mean 'mean'"),
    ("meddl.losses", "Hubr", "Did you mean 'Huber'"),
    ("meddl.metrics", "Recal", "Did you mean 'Recall'"),
    ("meddl.optimizers", "Adma", "Did you mean 'Adam'"),
    ("meddl.random", "normla", "Did you mean 'normal'"),
])
def test_a_missing_name_says_what_to_use_and_is_an_attribute_error(namespace, name, message):
    module = importlib.import_module(namespace)
    with pytest.raises(meddl.errors.MissingNameError, match=message):
        getattr(module, name)
    assert not hasattr(module, name) and getattr(module, name, None) is None
    with pytest.raises(AttributeError) as probe:  # Python's own probes get the plain error
        getattr(module, "__wrapped__")
    assert type(probe.value) is AttributeError
