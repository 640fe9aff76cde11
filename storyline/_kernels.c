/* storyline's compiled kernels (optional: storyline runs the same arithmetic in Python and numpy
 * when this module was not built; see storyline/kernels.py).
 *
 * segment_dots: the sparse dot products of SparseDots.dots for a query against many stories,
 * each segment's nonzero products summed exactly rounded, as math.fsum sums them. Written by
 * hand because it is one loop over arrays with an exact sum at each segment's end: numpy needs a
 * dozen calls and a Python list per query for it, and no library sums segments exactly.
 *
 * feature_rows: the rest of each join feature row (StoryClusterer._feature_row): the cosines
 * from those dot products, the time-cue agreements and the shares of names, written straight
 * into the rows' array. The embedding products are numpy's own calls, made from here, so their
 * bits are numpy's; the set and dict work is the Python path's, without its interpreter.
 *
 * id_arrays: a vector's terms as ids (handing out new ones) and its weights, two arrays, as
 * SparseDots._arrays makes them from the dicts.
 *
 * term_sums: the inverted index's sums of one search (TermIndex._sums), the same float additions
 * in the same order into the same dict, without the interpreter's loop.
 *
 * minhash: an article's MinHash sketch (storyline/dedup/minhash.py's scheme: SHA-1, MurmurHash3's
 * finalizer, affine permutations in uint32), its trigrams hashed and permuted in one loop.
 *
 * Built with -ffp-contract=off: a product must be rounded before it is summed (no fused
 * multiply-add), as numpy's multiply rounds it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An exactly rounded sum of doubles (Shewchuk's non-overlapping partials, with the final
 * half-way correction), the algorithm math.fsum uses, for finite inputs. */
typedef struct {
    double *p;
    Py_ssize_t n, cap;
    double local[32];
} ExactSum;

static void exact_init(ExactSum *s) {
    s->p = s->local;
    s->n = 0;
    s->cap = 32;
}

static void exact_free(ExactSum *s) {
    if (s->p != s->local)
        PyMem_Free(s->p);
}

/* 0, or 1 when the sum overflowed (the caller takes the path where math.fsum raises), or -1 on no memory */
static int exact_add(ExactSum *s, double x) {
    Py_ssize_t i = 0;
    for (Py_ssize_t j = 0; j < s->n; j++) {
        double y = s->p[j];
        if (fabs(x) < fabs(y)) {
            double t = x;
            x = y;
            y = t;
        }
        double hi = x + y;
        double lo = y - (hi - x);
        if (lo != 0.0)
            s->p[i++] = lo;
        x = hi;
    }
    s->n = i;
    if (!isfinite(x))
        return 1;
    if (x != 0.0) {
        if (s->n >= s->cap) {
            Py_ssize_t cap = 2 * s->cap;
            double *q = PyMem_Malloc(cap * sizeof(double));
            if (q == NULL)
                return -1;
            memcpy(q, s->p, s->n * sizeof(double));
            if (s->p != s->local)
                PyMem_Free(s->p);
            s->p = q;
            s->cap = cap;
        }
        s->p[s->n++] = x;
    }
    return 0;
}

static double exact_total(ExactSum *s) {
    Py_ssize_t n = s->n;
    double hi = 0.0, lo = 0.0;
    if (n == 0)
        return 0.0;
    hi = s->p[--n];
    while (n > 0) {
        double x = hi, y = s->p[--n];
        hi = x + y;
        lo = y - (hi - x);
        if (lo != 0.0)
            break;
    }
    /* round half-even correctly: when the partial left below has the sign of the rounding error,
     * the true sum lies beyond the half-way point */
    if (n > 0 && ((lo < 0.0 && s->p[n - 1] < 0.0) || (lo > 0.0 && s->p[n - 1] > 0.0))) {
        double y = lo * 2.0;
        double x = hi + y;
        if (y == x - hi)
            hi = x;
    }
    return hi;
}

/* A one-dimensional, contiguous buffer of one element kind: 'f' float64, 'i' intp, 'u' uint32. */
static int get_buffer(PyObject *obj, Py_buffer *view, const char *what, char kind, int writable) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    int ok = view->ndim == 1 && view->format != NULL && view->format[1] == '\0';
    char f = ok ? view->format[0] : '\0';
    if (kind == 'f')
        ok = ok && f == 'd' && view->itemsize == sizeof(double);
    else if (kind == 'i')
        ok = ok && (f == 'n' || f == 'l' || f == 'q') && view->itemsize == sizeof(Py_ssize_t);
    else
        ok = ok && (f == 'I' || f == 'L') && view->itemsize == sizeof(uint32_t);
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s must be a one-dimensional %s array", what,
                     kind == 'f' ? "float64" : kind == 'i' ? "intp" : "uint32");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* segment_dots(scratch, q_ids, q_vals, stories) -> list of (terms, entities, title, member) or None
 *
 * stories: (ids, vals, segments, lone) tuples, as SparseDots._story gives them. The query's
 * weights are written into scratch at q_ids for the duration and zeroed again. None when a
 * product is not finite (the caller then takes the numpy path, which math.fsum handles). */
static PyObject *segment_dots(PyObject *self, PyObject *args) {
    PyObject *scratch_obj, *q_ids_obj, *q_vals_obj, *stories;
    if (!PyArg_ParseTuple(args, "OOOO!", &scratch_obj, &q_ids_obj, &q_vals_obj, &PyList_Type, &stories))
        return NULL;
    Py_buffer sb, qi, qv;
    if (get_buffer(scratch_obj, &sb, "segment_dots: scratch", 'f', 1) < 0)
        return NULL;
    if (get_buffer(q_ids_obj, &qi, "segment_dots: q_ids", 'i', 0) < 0) {
        PyBuffer_Release(&sb);
        return NULL;
    }
    if (get_buffer(q_vals_obj, &qv, "segment_dots: q_vals", 'f', 0) < 0) {
        PyBuffer_Release(&qi);
        PyBuffer_Release(&sb);
        return NULL;
    }
    double *scratch = sb.buf;
    Py_ssize_t width = sb.shape[0];
    const Py_ssize_t *q_ids = qi.buf;
    const double *q_vals = qv.buf;
    Py_ssize_t nq = qi.shape[0];
    PyObject *out = NULL;
    int finite = 1;
    ExactSum acc;
    exact_init(&acc);
    if (qv.shape[0] != nq) {
        PyErr_SetString(PyExc_ValueError, "segment_dots: q_ids and q_vals differ in length");
        goto done;
    }
    for (Py_ssize_t k = 0; k < nq; k++) {
        if (q_ids[k] < 0 || q_ids[k] >= width) {
            PyErr_SetString(PyExc_IndexError, "segment_dots: a query id is outside the scratch row");
            nq = k;
            goto unset;
        }
        scratch[q_ids[k]] = q_vals[k];
    }
    Py_ssize_t n_stories = PyList_GET_SIZE(stories);
    out = PyList_New(n_stories);
    if (out == NULL)
        goto unset;
    for (Py_ssize_t s = 0; s < n_stories && finite; s++) {
        PyObject *item = PyList_GET_ITEM(stories, s);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 4 || !PyList_Check(PyTuple_GET_ITEM(item, 2))) {
            PyErr_SetString(PyExc_TypeError, "segment_dots: each story is an (ids, vals, segments, lone) tuple");
            goto fail;
        }
        Py_buffer ib, vb;
        if (get_buffer(PyTuple_GET_ITEM(item, 0), &ib, "segment_dots: a story's ids", 'i', 0) < 0)
            goto fail;
        if (get_buffer(PyTuple_GET_ITEM(item, 1), &vb, "segment_dots: a story's values", 'f', 0) < 0) {
            PyBuffer_Release(&ib);
            goto fail;
        }
        const Py_ssize_t *ids = ib.buf;
        const double *vals = vb.buf;
        Py_ssize_t len = ib.shape[0];
        PyObject *segments = PyTuple_GET_ITEM(item, 2);
        int lone = PyObject_IsTrue(PyTuple_GET_ITEM(item, 3));
        Py_ssize_t n_seg = PyList_GET_SIZE(segments), at = 0;
        double sums[3] = {0.0, 0.0, 0.0}, member = 0.0;
        int bad = lone < 0 || vb.shape[0] != len;
        for (Py_ssize_t g = 0; g < n_seg && !bad && finite; g++) {
            Py_ssize_t size = PyLong_AsSsize_t(PyList_GET_ITEM(segments, g));
            if (size < 0 || at + size > len) {
                bad = 1;
                break;
            }
            acc.n = 0;
            for (Py_ssize_t e = at; e < at + size; e++) {
                Py_ssize_t id = ids[e];
                if (id < 0 || id >= width) {
                    bad = 1;
                    break;
                }
                double product = scratch[id] * vals[e];
                if (product != 0.0) {
                    if (!isfinite(product)) {
                        finite = 0;
                        break;
                    }
                    int added = exact_add(&acc, product);
                    if (added < 0) {
                        PyBuffer_Release(&ib);
                        PyBuffer_Release(&vb);
                        PyErr_NoMemory();
                        goto fail;
                    }
                    if (added > 0) {
                        finite = 0;
                        break;
                    }
                }
            }
            double total = exact_total(&acc);
            if (g < 3)
                sums[g] = total;
            else if (g == 3 || total > member) /* max() keeps the first of equals */
                member = total;
            at += size;
        }
        PyBuffer_Release(&ib);
        PyBuffer_Release(&vb);
        if (bad || n_seg < 3) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "segment_dots: a story's segments do not fit its arrays");
            goto fail;
        }
        if (!finite)
            break;
        PyObject *row = Py_BuildValue("(dddd)", sums[0], sums[1], sums[2], lone ? sums[0] : member);
        if (row == NULL)
            goto fail;
        PyList_SET_ITEM(out, s, row);
    }
    if (!finite) {
        Py_DECREF(out);
        out = Py_NewRef(Py_None);
    }
    goto unset;
fail:
    Py_CLEAR(out);
unset:
    for (Py_ssize_t k = 0; k < nq; k++)
        scratch[q_ids[k]] = 0.0;
done:
    exact_free(&acc);
    PyBuffer_Release(&qv);
    PyBuffer_Release(&qi);
    PyBuffer_Release(&sb);
    return out;
}

/* exact_sum(values) -> float: the exactly rounded sum of a sequence of finite floats (for tests
 * against math.fsum). */
static PyObject *exact_sum(PyObject *self, PyObject *values) {
    PyObject *seq = PySequence_Fast(values, "exact_sum: values must be a sequence");
    if (seq == NULL)
        return NULL;
    ExactSum acc;
    exact_init(&acc);
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t k = 0; k < n; k++) {
        double x = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, k));
        if (x == -1.0 && PyErr_Occurred())
            goto fail;
        if (!isfinite(x)) {
            PyErr_SetString(PyExc_ValueError, "exact_sum: values must be finite");
            goto fail;
        }
        int added = exact_add(&acc, x);
        if (added != 0) {
            if (added < 0)
                PyErr_NoMemory();
            else
                PyErr_SetString(PyExc_OverflowError, "intermediate overflow in exact_sum");
            goto fail;
        }
    }
    double total = exact_total(&acc);
    exact_free(&acc);
    Py_DECREF(seq);
    return PyFloat_FromDouble(total);
fail:
    exact_free(&acc);
    Py_DECREF(seq);
    return NULL;
}

/* ---- feature_rows: the join features of StoryClusterer._feature_row, written into rows ---- */

static PyObject *s_norms, *s_dense, *s_size, *s_days, *s_years, *s_months, *s_names, *s_unit_dense, *s_member_dense;

/* cue_match(a, b): 0 when either is empty, 1 when they share an element, -1 when not */
static int cue_match(PyObject *a, PyObject *b, double *out) {
    int ta = PyObject_IsTrue(a), tb;
    if (ta < 0)
        return -1;
    if (!ta) {
        *out = 0.0;
        return 0;
    }
    if ((tb = PyObject_IsTrue(b)) < 0)
        return -1;
    if (!tb) {
        *out = 0.0;
        return 0;
    }
    if (PyAnySet_Check(a) && PyAnySet_Check(b)) {
        PyObject *small = PySet_GET_SIZE(a) <= PySet_GET_SIZE(b) ? a : b, *large = small == a ? b : a, *key;
        PyObject *it = PyObject_GetIter(small);
        if (it == NULL)
            return -1;
        *out = -1.0;
        while ((key = PyIter_Next(it)) != NULL) {
            int has = PySet_Contains(large, key);
            Py_DECREF(key);
            if (has != 0) {
                Py_DECREF(it);
                if (has < 0)
                    return -1;
                *out = 1.0;
                return 0;
            }
        }
        Py_DECREF(it);
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *both = PyNumber_And(a, b);
    if (both == NULL)
        return -1;
    int any = PyObject_IsTrue(both);
    Py_DECREF(both);
    if (any < 0)
        return -1;
    *out = any ? 1.0 : -1.0;
    return 0;
}

/* share_of(weights, total, other): the exact sum of weights' values whose keys other holds, over
 * total (0 when weights, other or total is empty or zero). 1: a value not finite (the caller
 * takes the Python path). */
static int share_of(PyObject *weights, double total, PyObject *other, double *out) {
    if (!PyDict_Check(weights) || !PyDict_Check(other)) {
        PyErr_SetString(PyExc_TypeError, "feature_rows: names and weights must be dicts");
        return -1;
    }
    if (PyDict_GET_SIZE(weights) == 0 || PyDict_GET_SIZE(other) == 0 || total == 0.0) {
        *out = 0.0;
        return 0;
    }
    ExactSum acc;
    exact_init(&acc);
    int iterate_weights = PyDict_GET_SIZE(weights) <= PyDict_GET_SIZE(other);
    PyObject *walk = iterate_weights ? weights : other, *key, *value;
    Py_ssize_t pos = 0;
    int status = 0;
    while (PyDict_Next(walk, &pos, &key, &value)) {
        PyObject *w;
        if (iterate_weights) {
            int has = PyDict_Contains(other, key);
            if (has < 0) {
                status = -1;
                break;
            }
            if (!has)
                continue;
            w = value;
        } else {
            w = PyDict_GetItemWithError(weights, key);
            if (w == NULL) {
                if (PyErr_Occurred()) {
                    status = -1;
                    break;
                }
                continue;
            }
        }
        double x = PyFloat_AsDouble(w);
        if (x == -1.0 && PyErr_Occurred()) {
            status = -1;
            break;
        }
        if (!isfinite(x)) {
            status = 1;
            break;
        }
        int added = exact_add(&acc, x);
        if (added != 0) {
            if (added < 0)
                PyErr_NoMemory();
            status = added;
            break;
        }
    }
    if (status == 0)
        *out = exact_total(&acc) / total;
    exact_free(&acc);
    return status;
}

static int as_double(PyObject *obj, double *out) {
    *out = PyFloat_AsDouble(obj);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

/* float(a @ b), or float(reduce(a @ b)) with a reducer */
static int product(PyObject *a, PyObject *b, PyObject *reduce, double *out) {
    PyObject *p = PyNumber_MatrixMultiply(a, b);
    if (p == NULL)
        return -1;
    if (reduce != NULL) {
        PyObject *r = PyObject_CallOneArg(reduce, p);
        Py_DECREF(p);
        if (r == NULL)
            return -1;
        p = r;
    }
    int status = as_double(p, out);
    Py_DECREF(p);
    return status;
}

#define N_FEATURES 21

/* One story's row: ALL_FEATURES of storyline/cluster/join.py, the rank and margin columns 0. */
static int feature_row(double *row, PyObject *st, PyObject *dots, PyObject *article, PyObject *names, double names_total,
                       PyObject *lead, double lead_total, PyObject *core_of, PyObject *log1p_size, PyObject *maximum_reduce) {
    /* article: (dense, short, log1p of its entities, days, years, months, figures) */
    PyObject *dense = PyTuple_GET_ITEM(article, 0);
    PyObject *norms = NULL, *st_dense = NULL, *size_obj = NULL, *core = NULL, *cue = NULL, *unit = NULL, *members = NULL,
             *st_names = NULL;
    int status = -1;
    double d[4];
    for (int k = 0; k < 4; k++)
        if (as_double(PyTuple_GET_ITEM(dots, k), &d[k]) < 0)
            return -1;
    if ((norms = PyObject_GetAttr(st, s_norms)) == NULL)
        goto done;
    if (!PyTuple_Check(norms) || PyTuple_GET_SIZE(norms) != 3) {
        PyErr_SetString(PyExc_TypeError, "feature_rows: a story's norms must be a 3-tuple");
        goto done;
    }
    double n[3];
    for (int k = 0; k < 3; k++)
        if (as_double(PyTuple_GET_ITEM(norms, k), &n[k]) < 0)
            goto done;
    if (n[0] == 0.0 || n[1] == 0.0 || n[2] == 0.0) {
        status = 1; /* Python raises ZeroDivisionError there */
        goto done;
    }
    double sp = d[0] / n[0], dn = 0.0, m_dn = 0.0;
    if ((st_dense = PyObject_GetAttr(st, s_dense)) == NULL)
        goto done;
    if (dense != Py_None && st_dense != Py_None) {
        if ((unit = PyObject_CallMethodNoArgs(st, s_unit_dense)) == NULL || product(unit, dense, NULL, &dn) < 0)
            goto done;
    }
    if (dense != Py_None) {
        if ((members = PyObject_CallMethodNoArgs(st, s_member_dense)) == NULL)
            goto done;
        if (members != Py_None && product(members, dense, maximum_reduce, &m_dn) < 0)
            goto done;
    }
    if ((size_obj = PyObject_GetAttr(st, s_size)) == NULL)
        goto done;
    Py_ssize_t size = PyLong_AsSsize_t(size_obj);
    if (size == -1 && PyErr_Occurred())
        goto done;
    Py_ssize_t capped = size < 10 ? size : 10;
    if (capped < 0 || capped >= PyTuple_GET_SIZE(log1p_size)) {
        status = 1; /* a size the table does not hold: the Python path */
        goto done;
    }
    row[0] = sp;
    row[1] = dn;
    row[2] = d[1] / n[1];
    row[3] = d[2] / n[2];
    row[4] = sp * dn;
    if (as_double(PyTuple_GET_ITEM(log1p_size, capped), &row[5]) < 0 || as_double(PyTuple_GET_ITEM(article, 1), &row[6]) < 0 ||
        as_double(PyTuple_GET_ITEM(article, 2), &row[11]) < 0)
        goto done;
    row[7] = row[8] = row[9] = row[10] = 0.0;
    row[12] = d[3];
    row[13] = m_dn;
    PyObject *const cues[3] = {s_days, s_years, s_months};
    for (int k = 0; k < 3; k++) {
        if ((cue = PyObject_GetAttr(st, cues[k])) == NULL || cue_match(PyTuple_GET_ITEM(article, 3 + k), cue, &row[14 + k]) < 0)
            goto done;
        Py_CLEAR(cue);
    }
    /* core_of(st) -> (core names with weights, their sum, core figures) */
    if ((core = PyObject_CallOneArg(core_of, st)) == NULL)
        goto done;
    if (!PyTuple_Check(core) || PyTuple_GET_SIZE(core) != 3) {
        PyErr_SetString(PyExc_TypeError, "feature_rows: core_of must give a 3-tuple");
        goto done;
    }
    PyObject *core_names = PyTuple_GET_ITEM(core, 0);
    double core_total;
    if (as_double(PyTuple_GET_ITEM(core, 1), &core_total) < 0 || (st_names = PyObject_GetAttr(st, s_names)) == NULL)
        goto done;
    int has_names = PyObject_IsTrue(names), has_story_names = PyObject_IsTrue(st_names), shared;
    if (has_names < 0 || has_story_names < 0)
        goto done;
    row[17] = row[18] = 0.0;
    if (has_names && has_story_names) { /* who_shares */
        if ((shared = share_of(names, names_total, st_names, &row[17])) != 0 ||
            (shared = share_of(core_names, core_total, names, &row[18])) != 0) {
            status = shared;
            goto done;
        }
    }
    if (cue_match(PyTuple_GET_ITEM(article, 6), PyTuple_GET_ITEM(core, 2), &row[19]) < 0)
        goto done;
    if ((shared = share_of(lead, lead_total, core_names, &row[20])) != 0) {
        status = shared;
        goto done;
    }
    status = 0;
done:
    Py_XDECREF(norms);
    Py_XDECREF(st_dense);
    Py_XDECREF(size_obj);
    Py_XDECREF(core);
    Py_XDECREF(cue);
    Py_XDECREF(unit);
    Py_XDECREF(members);
    Py_XDECREF(st_names);
    return status;
}

/* feature_rows(rows, article, states, dots, names, names_total, lead, lead_total, core_of, log1p_size, maximum_reduce)
 * -> True, or False when a value was not finite or a size is off the table (the caller then
 * builds the rows in Python, which raises where it should). rows: a float64 (len(states), 21)
 * array, written. */
static PyObject *feature_rows(PyObject *self, PyObject *args) {
    PyObject *rows_obj, *article, *states, *dots, *names, *lead, *core_of, *log1p_size, *maximum_reduce;
    double names_total, lead_total;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!dO!dOO!O", &rows_obj, &PyTuple_Type, &article, &PyList_Type, &states, &PyList_Type,
                          &dots, &PyDict_Type, &names, &names_total, &PyDict_Type, &lead, &lead_total, &core_of, &PyTuple_Type,
                          &log1p_size, &maximum_reduce))
        return NULL;
    if (PyTuple_GET_SIZE(article) != 7 || PyList_GET_SIZE(dots) != PyList_GET_SIZE(states)) {
        PyErr_SetString(PyExc_ValueError, "feature_rows: a 7-tuple article, and one dots tuple a story");
        return NULL;
    }
    Py_buffer rb;
    if (PyObject_GetBuffer(rows_obj, &rb, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(states);
    if (rb.ndim != 2 || rb.format == NULL || strcmp(rb.format, "d") != 0 || rb.shape[0] != n || rb.shape[1] != N_FEATURES) {
        PyErr_Format(PyExc_ValueError, "feature_rows: rows must be a float64 array of shape (%zd, %d)", n, N_FEATURES);
        PyBuffer_Release(&rb);
        return NULL;
    }
    int status = 0;
    for (Py_ssize_t i = 0; i < n && status == 0; i++) {
        PyObject *d = PyList_GET_ITEM(dots, i);
        if (!PyTuple_Check(d) || PyTuple_GET_SIZE(d) != 4) {
            PyErr_SetString(PyExc_TypeError, "feature_rows: each dots entry is a 4-tuple");
            status = -1;
            break;
        }
        status = feature_row((double *)rb.buf + i * N_FEATURES, PyList_GET_ITEM(states, i), d, article, names, names_total,
                             lead, lead_total, core_of, log1p_size, maximum_reduce);
    }
    PyBuffer_Release(&rb);
    if (status < 0)
        return NULL;
    return PyBool_FromLong(status == 0);
}

/* ---- term_sums: TermIndex._sums, the inverted index's sums of one search ---- */

/* acc[s] = acc.get(s, 0.0) + weight for each story s of posting, in the posting's order (the
 * same floats, and the same keys in the same order, as the dict update in Python) */
static int add_posting(PyObject *acc, PyObject *posting, PyObject *weight, int first) {
    PyObject *it = PyObject_GetIter(posting), *s;
    if (it == NULL)
        return -1;
    int weight_float = PyFloat_CheckExact(weight);
    double w = weight_float ? PyFloat_AS_DOUBLE(weight) : 0.0;
    while ((s = PyIter_Next(it)) != NULL) {
        PyObject *value;
        if (first) {
            value = Py_NewRef(weight); /* dict.fromkeys(posting, weight) */
        } else {
            PyObject *old = PyDict_GetItemWithError(acc, s);
            if (old == NULL && PyErr_Occurred()) {
                Py_DECREF(s);
                Py_DECREF(it);
                return -1;
            }
            if (old == NULL && weight_float)
                value = PyFloat_FromDouble(0.0 + w);
            else if (old == NULL) {
                PyObject *zero = PyFloat_FromDouble(0.0);
                value = zero == NULL ? NULL : PyNumber_Add(zero, weight);
                Py_XDECREF(zero);
            } else if (weight_float && PyFloat_CheckExact(old))
                value = PyFloat_FromDouble(PyFloat_AS_DOUBLE(old) + w);
            else
                value = PyNumber_Add(old, weight);
        }
        int failed = value == NULL || PyDict_SetItem(acc, s, value) < 0;
        Py_XDECREF(value);
        Py_DECREF(s);
        if (failed) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* term_sums(terms, weights, postings, among) -> dict: TermIndex._sums (among: None or a set) */
static PyObject *term_sums(PyObject *self, PyObject *args) {
    PyObject *terms, *weights, *postings, *among;
    if (!PyArg_ParseTuple(args, "OO!O!O", &terms, &PyDict_Type, &weights, &PyDict_Type, &postings, &among))
        return NULL;
    PyObject *acc = PyDict_New(), *it = PyObject_GetIter(terms), *w;
    if (acc == NULL || it == NULL)
        goto fail;
    while ((w = PyIter_Next(it)) != NULL) {
        PyObject *posting = PyDict_GetItemWithError(postings, w); /* borrowed */
        if (posting == NULL) {
            Py_DECREF(w);
            if (PyErr_Occurred())
                goto fail;
            continue;
        }
        Py_INCREF(posting);
        int truth = PyObject_IsTrue(posting);
        if (truth > 0 && among != Py_None) {
            PyObject *both = PyNumber_And(posting, among);
            Py_DECREF(posting);
            posting = both;
            truth = posting == NULL ? -1 : PyObject_IsTrue(posting);
        }
        if (truth > 0) {
            PyObject *weight = PyObject_GetItem(weights, w); /* KeyError as weights[w] */
            truth = weight == NULL ? -1 : add_posting(acc, posting, weight, PyDict_GET_SIZE(acc) == 0);
            Py_XDECREF(weight);
        }
        Py_XDECREF(posting);
        Py_DECREF(w);
        if (truth < 0)
            goto fail;
    }
    if (PyErr_Occurred())
        goto fail;
    Py_DECREF(it);
    return acc;
fail:
    Py_XDECREF(it);
    Py_XDECREF(acc);
    return NULL;
}

/* ---- id_arrays: SparseDots._arrays, a vector's term ids and weights as two arrays ---- */

/* id_arrays(tables, next_id, parts, ids, vals) -> next_id
 *
 * parts: (kind, weights) pairs; each weights dict's terms looked up in tables[kind] (a term
 * not there gets next_id, which then counts up, as SparseDots._ids hands them out), written in
 * order into ids (intp) and the weights into vals (float64), whose lengths are the parts' total. */
static PyObject *id_arrays(PyObject *self, PyObject *args) {
    PyObject *tables, *parts, *ids_obj, *vals_obj;
    Py_ssize_t next_id;
    if (!PyArg_ParseTuple(args, "O!nO!OO", &PyTuple_Type, &tables, &next_id, &PyList_Type, &parts, &ids_obj, &vals_obj))
        return NULL;
    Py_buffer ib, vb;
    if (get_buffer(ids_obj, &ib, "id_arrays: ids", 'i', 1) < 0)
        return NULL;
    if (get_buffer(vals_obj, &vb, "id_arrays: vals", 'f', 1) < 0) {
        PyBuffer_Release(&ib);
        return NULL;
    }
    Py_ssize_t *ids = ib.buf, at = 0, room = ib.shape[0];
    double *vals = vb.buf;
    int failed = vb.shape[0] != room;
    if (failed)
        PyErr_SetString(PyExc_ValueError, "id_arrays: ids and vals differ in length");
    for (Py_ssize_t p = 0; p < PyList_GET_SIZE(parts) && !failed; p++) {
        PyObject *part = PyList_GET_ITEM(parts, p);
        Py_ssize_t kind;
        if (!PyTuple_Check(part) || PyTuple_GET_SIZE(part) != 2 || !PyDict_Check(PyTuple_GET_ITEM(part, 1)) ||
            (kind = PyLong_AsSsize_t(PyTuple_GET_ITEM(part, 0))) < 0 || kind >= PyTuple_GET_SIZE(tables) ||
            !PyDict_Check(PyTuple_GET_ITEM(tables, kind))) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "id_arrays: parts are (kind, dict) pairs with a table for each kind");
            failed = 1;
            break;
        }
        PyObject *table = PyTuple_GET_ITEM(tables, kind), *weights = PyTuple_GET_ITEM(part, 1), *term, *weight;
        Py_ssize_t pos = 0;
        while (PyDict_Next(weights, &pos, &term, &weight)) {
            if (at >= room) {
                PyErr_SetString(PyExc_ValueError, "id_arrays: more terms than the arrays hold");
                failed = 1;
                break;
            }
            PyObject *id = PyDict_GetItemWithError(table, term);
            Py_ssize_t value;
            if (id != NULL) {
                value = PyLong_AsSsize_t(id);
            } else if (PyErr_Occurred()) {
                failed = 1;
                break;
            } else {
                PyObject *fresh = PyLong_FromSsize_t(next_id);
                if (fresh == NULL || PyDict_SetItem(table, term, fresh) < 0) {
                    Py_XDECREF(fresh);
                    failed = 1;
                    break;
                }
                Py_DECREF(fresh);
                value = next_id++;
            }
            double x = PyFloat_AsDouble(weight);
            if ((value == -1 || x == -1.0) && PyErr_Occurred()) {
                failed = 1;
                break;
            }
            ids[at] = value;
            vals[at++] = x;
        }
    }
    if (!failed && at != room) {
        PyErr_SetString(PyExc_ValueError, "id_arrays: fewer terms than the arrays hold");
        failed = 1;
    }
    PyBuffer_Release(&vb);
    PyBuffer_Release(&ib);
    return failed ? NULL : PyLong_FromSsize_t(next_id);
}

/* ---- minhash: MinHashSketcher's sketch of one article's word trigrams ---- */

/* SHA-1 (FIPS 180-4) of a short message, its first four digest bytes read little-endian: the
 * value datasketch's sha1_hash32 gives a trigram. By hand because hashlib costs a Python call
 * per trigram (about a microsecond, over a million trigrams in a 10k-article ingest), and the
 * library that does SHA-1 in C (OpenSSL) has no headers on a plain machine. */
static inline uint32_t rotl32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const unsigned char *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rotl32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999u;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        uint32_t t = rotl32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rotl32(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static uint32_t sha1_hash32(const unsigned char *msg, Py_ssize_t len) {
    uint32_t h[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    Py_ssize_t full = len / 64;
    for (Py_ssize_t i = 0; i < full; i++)
        sha1_block(h, msg + 64 * i);
    unsigned char tail[128];
    Py_ssize_t rest = len - 64 * full;
    memcpy(tail, msg + 64 * full, (size_t)rest);
    tail[rest] = 0x80;
    Py_ssize_t blocks = rest + 9 <= 64 ? 1 : 2;
    memset(tail + rest + 1, 0, (size_t)(64 * blocks - rest - 1));
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[64 * blocks - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (Py_ssize_t i = 0; i < blocks; i++)
        sha1_block(h, tail + 64 * i);
    uint32_t x = h[0]; /* the digest's first four bytes are h[0] big-endian: read little-endian */
    return (x >> 24) | ((x >> 8) & 0xFF00u) | ((x << 8) & 0xFF0000u) | (x << 24);
}

static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    return h ^ (h >> 16);
}

/* minhash(grams, a, b, out): for each permutation j, the least (a[j] * fmix32(sha1_hash32(g)) +
 * b[j]) mod 2**32 over the grams (bytes), into out; the values MinHashSketcher's numpy path gives. */
static PyObject *minhash(PyObject *self, PyObject *args) {
    PyObject *grams, *a_obj, *b_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OOOO", &grams, &a_obj, &b_obj, &out_obj))
        return NULL;
    Py_buffer ab, bb, ob;
    if (get_buffer(a_obj, &ab, "minhash: a", 'u', 0) < 0)
        return NULL;
    if (get_buffer(b_obj, &bb, "minhash: b", 'u', 0) < 0) {
        PyBuffer_Release(&ab);
        return NULL;
    }
    if (get_buffer(out_obj, &ob, "minhash: out", 'u', 1) < 0) {
        PyBuffer_Release(&bb);
        PyBuffer_Release(&ab);
        return NULL;
    }
    Py_ssize_t n = ab.shape[0];
    const uint32_t *a = ab.buf, *b = bb.buf;
    uint32_t *out = ob.buf;
    PyObject *it = NULL, *gram;
    int failed = bb.shape[0] != n || ob.shape[0] != n;
    if (failed)
        PyErr_SetString(PyExc_ValueError, "minhash: a, b and out differ in length");
    else if ((it = PyObject_GetIter(grams)) == NULL)
        failed = 1;
    for (Py_ssize_t j = 0; j < n; j++)
        out[j] = 0xFFFFFFFFu;
    while (!failed && (gram = PyIter_Next(it)) != NULL) {
        char *bytes;
        Py_ssize_t len;
        if (PyBytes_AsStringAndSize(gram, &bytes, &len) < 0) {
            Py_DECREF(gram);
            failed = 1;
            break;
        }
        uint32_t h = fmix32(sha1_hash32((const unsigned char *)bytes, len));
        Py_DECREF(gram);
        for (Py_ssize_t j = 0; j < n; j++) {
            uint32_t v = a[j] * h + b[j];
            if (v < out[j])
                out[j] = v;
        }
    }
    if (!failed && PyErr_Occurred())
        failed = 1;
    Py_XDECREF(it);
    PyBuffer_Release(&ob);
    PyBuffer_Release(&bb);
    PyBuffer_Release(&ab);
    if (failed)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"segment_dots", segment_dots, METH_VARARGS, "The sparse dot products of SparseDots.dots (see storyline/kernels.py)."},
    {"feature_rows", feature_rows, METH_VARARGS, "The join features of StoryClusterer._feature_row (see storyline/kernels.py)."},
    {"term_sums", term_sums, METH_VARARGS, "TermIndex._sums: each story's sum of the searched terms' weights."},
    {"id_arrays", id_arrays, METH_VARARGS, "SparseDots._arrays: term ids and weights as arrays (see storyline/kernels.py)."},
    {"minhash", minhash, METH_VARARGS, "MinHashSketcher's sketch of one article's trigrams (see storyline/kernels.py)."},
    {"exact_sum", exact_sum, METH_O, "The exactly rounded sum of finite floats, as math.fsum."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) {
    struct {
        PyObject **slot;
        const char *name;
    } names[] = {{&s_norms, "norms"}, {&s_dense, "dense"}, {&s_size, "size"}, {&s_days, "days"}, {&s_years, "years"},
                 {&s_months, "months"}, {&s_names, "names"}, {&s_unit_dense, "unit_dense"}, {&s_member_dense, "member_dense"}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if ((*names[k].slot = PyUnicode_InternFromString(names[k].name)) == NULL)
            return NULL;
    return PyModule_Create(&module);
}
