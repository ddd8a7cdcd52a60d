"""The sample_domain convention: packing, splitting and validating source and target rows."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.base import clone

from sktransfer.domain_adaptation import (
    CORAL,
    TCA,
    DANNClassifier,
    DomainRevealingFeatureSelector,
    SubspaceAlignment,
)
from sktransfer.instance_transfer import KLIEP, KMM, ImportanceWeightedClassifier
from sktransfer.utils._domains import (
    check_sample_domain,
    domain_rows,
    pack_domains,
    split_domains,
)

X_SOURCE = np.arange(12.0).reshape(6, 2)
Y_SOURCE = np.array([0, 1, 0, 1, 2, 2])
X_TARGET = -np.arange(8.0).reshape(4, 2)
Y_TARGET = np.array([1, 0, 2, 2])


def test_pack_domains_stacks_source_then_target():
    X, y, sample_domain = pack_domains(source=(X_SOURCE, Y_SOURCE), target=(X_TARGET, Y_TARGET))

    assert_array_equal(X, np.vstack([X_SOURCE, X_TARGET]))
    assert_array_equal(y, np.concatenate([Y_SOURCE, Y_TARGET]))
    assert_array_equal(sample_domain, [1] * 6 + [-2] * 4)


def test_pack_domains_marks_unlabelled_target_rows():
    _, y, sample_domain = pack_domains(source=(X_SOURCE, Y_SOURCE), target=(X_TARGET, None))

    assert_array_equal(y, np.concatenate([Y_SOURCE, [-1] * 4]))
    assert_array_equal(check_sample_domain(None, len(y), y=y), sample_domain)


def test_pack_domains_marks_unlabelled_regression_rows_with_nan():
    # A regressor reads -1 as a value; whole-number floats are class labels and keep -1.
    y_source = np.array([0.5, -1.0, 2.25, 3.0, 1.5, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # -1.0 is a value here, not a stray marker
        X, y, sample_domain = pack_domains((X_SOURCE, y_source), (X_TARGET, None))
    assert_array_equal(y, np.concatenate([y_source, [np.nan] * 4]))
    _, (_, y_target) = split_domains(X, y, sample_domain)
    assert y_target is None
    _, y, _ = pack_domains((X_SOURCE, [0.0, 1.0, 1.0, 0.0, 1.0, 0.0]), (X_TARGET, None))
    assert_array_equal(y[6:], [-1.0] * 4)


def test_pack_domains_warns_of_minus_one_in_the_source_labels():
    """Before: the row was packed as an unlabelled source row, which classifiers left out
    without a word."""
    with pytest.warns(UserWarning, match=r"y_source holds -1 at rows \[2\]: classifiers"):
        _, y, _ = pack_domains((np.zeros((4, 2)), [0, 1, -1, 0]), (np.ones((2, 2)), None))
    np.testing.assert_array_equal(y, [0, 1, -1, 0, -1, -1])


def test_pack_domains_refuses_unlabelled_targets_with_string_labels():
    with pytest.raises(ValueError, match="numeric source labels"):
        pack_domains(source=(X_SOURCE, Y_SOURCE.astype(str)), target=(X_TARGET, None))


@pytest.mark.parametrize(
    "y_source, y_target",
    [
        (np.array(["a", "b", "c"])[Y_SOURCE], Y_TARGET),
        (Y_SOURCE, Y_TARGET.astype(str)),
        (pd.Series(["a", "b", "c"])[Y_SOURCE].to_numpy(dtype=object), Y_TARGET),
        (Y_SOURCE, pd.Series(Y_TARGET.astype(str), dtype=object)),
    ],
    ids=["strings-numbers", "numbers-strings", "object-strings-numbers", "numbers-object"],
)
def test_pack_domains_refuses_labels_of_different_kinds(y_source, y_target):
    # NumPy joined them as strings: target labels 0, 1 became "0", "1", classes disjoint from
    # the source's, without a word.
    with pytest.raises(ValueError, match="y_source holds labels of dtype .* but y_target labels"):
        pack_domains(source=(X_SOURCE, y_source), target=(X_TARGET, y_target))


def test_pack_domains_joins_labels_of_one_kind():
    strings = np.array(["a", "b", "c"])
    _, y, _ = pack_domains((X_SOURCE, strings[Y_SOURCE]), (X_TARGET, strings[Y_TARGET]))
    assert_array_equal(y, strings[np.r_[Y_SOURCE, Y_TARGET]])
    _, y, _ = pack_domains((X_SOURCE, Y_SOURCE), (X_TARGET, Y_TARGET.astype(float)))
    assert_array_equal(y, np.r_[Y_SOURCE, Y_TARGET])
    _, y, _ = pack_domains((X_SOURCE, Y_SOURCE.astype(object)), (X_TARGET, Y_TARGET))
    assert_array_equal(y, np.r_[Y_SOURCE, Y_TARGET])


def test_pack_domains_keeps_dataframes_and_sparse_matrices():
    columns = ["a", "b"]
    X, _, _ = pack_domains(
        source=(pd.DataFrame(X_SOURCE, columns=columns), Y_SOURCE),
        target=(pd.DataFrame(X_TARGET, columns=columns), Y_TARGET),
    )
    assert isinstance(X, pd.DataFrame)
    assert list(X.columns) == columns
    assert_array_equal(X.index, np.arange(10))

    X, _, _ = pack_domains(source=(sp.csr_matrix(X_SOURCE), Y_SOURCE), target=(X_TARGET, None))
    assert sp.issparse(X)
    assert_array_equal(X.toarray(), np.vstack([X_SOURCE, X_TARGET]))


@pytest.mark.parametrize("kind", ["PIL", "arrays of several sizes", "paths"])
def test_pack_domains_keeps_lists_of_images_and_split_domains_gives_them_back(tmp_path, kind):
    from PIL import Image

    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, size=(8 + i, 9, 3), dtype=np.uint8) for i in range(5)]
    if kind == "PIL":
        images = [Image.fromarray(a) for a in arrays]
    elif kind == "paths":
        images = [str(tmp_path / f"{i}.png") for i in range(5)]
        for path, a in zip(images, arrays, strict=True):
            Image.fromarray(a).save(path)
    else:
        images = arrays
    # NumPy read PIL images as pixel arrays and failed on arrays of several sizes.
    X, y, sample_domain = pack_domains(source=(images[:3], [0, 1, 0]), target=(images[3:], None))
    assert isinstance(X, list) and all(a is b for a, b in zip(X, images, strict=True))
    (Xs, ys), (Xt, yt) = split_domains(X, y, sample_domain)
    assert len(Xs) == 3 and len(Xt) == 2 and yt is None
    assert all(a is b for a, b in zip([*Xs, *Xt], X, strict=True))


@pytest.mark.parametrize(
    "source_rows, target_rows",
    [(["a.png", "b.png", "c.png"], ["d.png", "e.png"]), ([0.1, 0.2, 0.3], [0.4, 0.5])],
    ids=["paths", "numbers"],
)
def test_pack_domains_concatenates_series_and_split_domains_gives_them_back(
    source_rows, target_rows
):
    # A Series was taken for a DataFrame, and its missing columns raised an AttributeError.
    source = pd.Series(source_rows, index=[7, 8, 9], name="X")
    X, y, sample_domain = pack_domains(
        source=(source, [0, 1, 0]), target=(pd.Series(target_rows, name="X"), None)
    )
    assert isinstance(X, pd.Series)
    assert X.tolist() == source_rows + target_rows
    assert_array_equal(X.index, np.arange(5))
    (Xs, _), (Xt, _) = split_domains(X, y, sample_domain)
    assert isinstance(Xs, pd.Series) and isinstance(Xt, pd.Series)
    assert Xs.tolist() == source_rows and Xt.tolist() == target_rows


@pytest.mark.parametrize(
    "source, target, match",
    [
        (
            (X_SOURCE, Y_SOURCE[:3]),
            (X_TARGET, Y_TARGET),
            "X_source has 6 rows but y_source has 3 labels",
        ),
        ((X_SOURCE, Y_SOURCE), (X_TARGET[:, :1], Y_TARGET), "Source rows have shape"),
        ((X_SOURCE,), (X_TARGET, Y_TARGET), "source must be a pair"),
        ((X_SOURCE, Y_SOURCE), X_TARGET, "target must be a pair"),
    ],
)
def test_pack_domains_bad_input(source, target, match):
    with pytest.raises(ValueError, match=match):
        pack_domains(source=source, target=target)


@pytest.mark.parametrize("y_target", [Y_TARGET, None])
def test_split_domains_inverts_pack_domains(y_target):
    X, y, sample_domain = pack_domains(source=(X_SOURCE, Y_SOURCE), target=(X_TARGET, y_target))

    (Xs, ys), (Xt, yt) = split_domains(X, y, sample_domain)

    assert_array_equal(Xs, X_SOURCE)
    assert_array_equal(ys, Y_SOURCE)
    assert_array_equal(Xt, X_TARGET)
    if y_target is None:
        assert yt is None
    else:
        assert_array_equal(yt, y_target)


def test_split_domains_keeps_dataframe_rows():
    X = pd.DataFrame({"a": [1, 2, 3]}, index=[10, 11, 12])

    (Xs, ys), (Xt, yt) = split_domains(X, sample_domain=[-1, 3, -2])

    assert list(Xs.index) == [11]
    assert list(Xt.index) == [10, 12]
    assert ys is None and yt is None


def test_check_sample_domain_derives_from_unlabelled_rows():
    assert_array_equal(check_sample_domain(None, 4, y=[0, -1, 1, -1]), [1, -2, 1, -2])
    # Without unlabelled rows every row is a source row: plain supervised training.
    assert_array_equal(check_sample_domain(None, 3, y=["a", "b", "a"]), [1, 1, 1])


def test_check_sample_domain_accepts_integral_floats_and_many_domains():
    domains = check_sample_domain([1.0, 2.0, -1.0, -3.0], 4)
    assert domains.dtype == np.int64
    assert_array_equal(domains, [1, 2, -1, -3])


@pytest.mark.parametrize(
    "sample_domain, match",
    [
        (None, "cannot be derived"),
        ([1, -2, 1], "sample_domain has 3 entries but X has 4 rows"),
        ([[1, -2], [1, -2]], "one-dimensional"),
        ([1, -2, 0, 1], "contains 0"),
        ([1, -2, 1.5, 1], "must hold integers; found 1.5"),
        ([1, -2, np.nan, 1], "must hold integers; found nan"),
        ([True, False, True, True], "dtype bool"),
        (["source", "target", "source", "source"], "must hold integers"),
        # Cast to int64 they wrapped around: a source row became a target row.
        (np.array([2**63, 1, 1, 1], np.uint64), "holds 9223372036854775808, outside"),
        ([1e19, 1, -2, -2], "holds 1e\\+19, outside the range of a 64-bit integer"),
    ],
)
def test_check_sample_domain_bad_input(sample_domain, match):
    with pytest.raises(ValueError, match=match):
        check_sample_domain(sample_domain, 4)


@pytest.mark.parametrize(
    "X_source, X_target, error, match",
    [
        (
            pd.DataFrame(X_SOURCE, columns=["a", "b"]),
            pd.DataFrame(X_TARGET, columns=["a", "c"]),
            ValueError,
            r"Source rows have columns \['a', 'b'\] but target rows \['a', 'c'\]",
        ),
        (
            pd.DataFrame(X_SOURCE, columns=["a", "b"]),
            pd.DataFrame(X_TARGET[:, :1], columns=["a"]),
            ValueError,
            "Source rows have columns",
        ),
        (sp.csr_matrix(X_SOURCE), X_TARGET[:, :1], ValueError, "Source rows have shape"),
        (None, X_TARGET, TypeError, "X_source must be an array-like"),
        (X_SOURCE, 3.0, TypeError, "X_target must be an array-like"),
    ],
    ids=["other column names", "fewer columns", "sparse, narrower target", "None", "scalar"],
)
def test_pack_domains_refuses_rows_that_do_not_stack(X_source, X_target, error, match):
    with pytest.raises(error, match=match):
        pack_domains(source=(X_source, Y_SOURCE), target=(X_target, None))


def test_pack_domains_aligns_dataframe_columns_given_in_another_order():
    X, _, _ = pack_domains(
        source=(pd.DataFrame(X_SOURCE, columns=["a", "b"]), Y_SOURCE),
        target=(pd.DataFrame(X_TARGET[:, ::-1], columns=["b", "a"]), None),
    )
    assert_array_equal(X[["a", "b"]].to_numpy(), np.vstack([X_SOURCE, X_TARGET]))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint32, np.uint64])
def test_unsigned_source_labels_take_a_signed_type_that_holds_minus_one(dtype):
    _, y, _ = pack_domains(source=(X_SOURCE, Y_SOURCE.astype(dtype)), target=(X_TARGET, None))
    assert y.dtype.kind == "i"
    assert_array_equal(y, np.r_[Y_SOURCE, [-1] * 4])


@pytest.mark.parametrize("y_target", [None, np.array([-1, -1, 0, 2**62 + 3])])
def test_uint64_labels_stay_integers_and_distinct(y_target):
    # NumPy joins uint64 and int64 into float64, which made these two classes one.
    y_source = np.array([2**62 + 1, 2**62 + 3] * 3, dtype=np.uint64)
    _, y, _ = pack_domains(source=(X_SOURCE, y_source), target=(X_TARGET, y_target))
    assert y.dtype == np.int64
    assert_array_equal(y[:6], y_source.astype(np.int64))
    assert len(np.unique(y[:6])) == 2


@pytest.mark.parametrize("labelled_target", [False, True])
def test_uint64_labels_beyond_int64_are_refused(labelled_target):
    y_source = np.array([2**63 + 1, 2**63 + 3] * 3, dtype=np.uint64)
    y_target = y_source[:4] if labelled_target else None
    with pytest.raises(ValueError, match="more than a signed 64-bit integer holds.*LabelEncoder"):
        pack_domains(source=(X_SOURCE, y_source), target=(X_TARGET, y_target))


def test_a_string_minus_one_label_is_a_class_and_says_so():
    # String labels cannot mark unlabelled rows: "-1" is learned as a class, with a warning.
    y = np.array(["cat", "dog", "-1", "-1"])
    with pytest.warns(UserWarning, match=r'string "-1", which is a class here'):
        rows = domain_rows(y, None, 4)
    assert rows.labelled.all()
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    labels = np.array(["cat", "dog", "-1", "owl"] * 10)
    with pytest.warns(UserWarning, match=r'string "-1"'):
        clf = DANNClassifier(max_epochs=1, device="cpu", random_state=0).fit(X, labels)
    assert "-1" in clf.classes_


def test_numeric_labels_raise_no_warning_about_minus_one():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert domain_rows(np.array([0, 1, -1]), None, 3).labelled.tolist() == [1, 1, 0]


def test_domain_codes_passed_positionally_as_y_are_named():
    # fit(X, sample_domain) put pack_domains' codes in y: -2 marks no target row, and the
    # estimators that read no labels adapted nothing without a word.
    from sktransfer.domain_adaptation import CORAL, TCA
    from sktransfer.instance_transfer import KMM
    from sktransfer.model_selection import DomainShuffleSplit

    rng = np.random.RandomState(0)
    X, _, sample_domain = pack_domains(
        source=(rng.normal(size=(20, 2)), np.arange(20) % 2),
        target=(rng.normal(size=(20, 2)) + 1.0, None),
    )
    for estimator in (CORAL(), TCA(n_components=2), KMM()):
        with pytest.warns(UserWarning, match=r"negative values \(\[-2\]\).*keyword-only"):
            estimator.fit(X, sample_domain)
    with pytest.warns(UserWarning, match="keyword-only"), pytest.raises(ValueError):
        next(DomainShuffleSplit().split(X, sample_domain))
    # Labels for these estimators hold a -1, or no negative value: no warning.
    CORAL().fit(X, np.r_[np.arange(20) % 2, -np.ones(20, int)])
    CORAL().fit(X, np.r_[np.ones(20, int), 2 * np.ones(20, int)])


def test_labels_and_targets_unlike_pack_domains_codes_give_no_warning():
    # The warning fired on an integer regression target and on labels {-2, 2} in a plain
    # pipeline of CORAL and Ridge, at every fold of a cross-validation.
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    from sktransfer.domain_adaptation import CORAL

    X = np.random.RandomState(0).normal(size=(30, 2))
    for y in ([-3, -2, 2, 3, 5], [-2, 2], [-9, -5, -2], [1, -3]):
        make_pipeline(CORAL(), Ridge()).fit(X, np.resize(y, 30))  # warnings are errors here


@pytest.mark.parametrize(
    "estimator",
    [
        CORAL(),
        SubspaceAlignment(),
        TCA(),
        DomainRevealingFeatureSelector(),
        KMM(),
        KLIEP(),
    ],
    ids=lambda est: type(est).__name__,
)
@pytest.mark.parametrize("domain, missing", [(1, "no target rows"), (-2, "no source rows")])
def test_adaptation_steps_warn_when_sample_domain_marks_one_domain(estimator, domain, missing):
    # Before: the identity map, or weights of 1, without a word.
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.warns(UserWarning, match=f"sample_domain marks {missing}.*nothing to adapt"):
        estimator.fit(X, sample_domain=np.full(40, domain))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a plain fit without domains stays quiet
        clone(estimator).fit(X)
        ImportanceWeightedClassifier().fit(X, (X[:, 0] > 0).astype(int))


def test_a_y_holding_nan_marks_its_target_rows_with_nan_alone():
    # A regression's y: -1.0 is one of its values, not a mark. A y without NaN keeps the
    # classification mark, -1.
    y = np.array([0.5, -1.0, np.nan, 2.0, np.nan])
    assert_array_equal(check_sample_domain(None, 5, y=y), [1, 1, -2, 1, -2])
    assert_array_equal(check_sample_domain(None, 3, y=[0, -1, 1]), [1, -2, 1])


def test_pack_domains_refuses_a_regression_flag_it_cannot_honour():
    source, target = (np.zeros((2, 1)), [1, 2]), (np.ones((1, 1)), None)
    with pytest.raises(TypeError, match="regression must be None, True or False; got 1"):
        pack_domains(source, target, regression=1)
    with pytest.raises(ValueError, match="regression=True needs numeric targets"):
        pack_domains((np.zeros((2, 1)), ["a", "b"]), (np.ones((1, 1)), ["a"]), regression=True)
    _, y, _ = pack_domains(source, target, regression=np.True_)
    assert np.isnan(y[2])
