#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

#define PREFIX "twitch2mqtt_"
#define LABELS_MAX 256

struct series {
	char *labels;           /* rendered: k="v",k2="v2" */
	long long value;
};

struct family {
	char *name, *help;
	enum br_metric_kind kind;
	struct series *series;
	size_t n, cap;
};

struct br_metrics {
	struct family *fam;
	size_t n, cap;
};

struct br_metrics *
br_metrics_new(void)
{
	return br_xcalloc(1, sizeof(struct br_metrics));
}

void
br_metrics_free(struct br_metrics *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		for (size_t j = 0; j < m->fam[i].n; j++)
			free(m->fam[i].series[j].labels);
		free(m->fam[i].series);
		free(m->fam[i].name);
		free(m->fam[i].help);
	}
	free(m->fam);
	free(m);
}

static struct family *
find_family(struct br_metrics *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->fam[i].name, name) == 0)
			return &m->fam[i];
	return NULL;
}

void
br_metrics_declare(struct br_metrics *m, const char *family,
    enum br_metric_kind kind, const char *help)
{
	if (find_family(m, family) != NULL)
		return;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->fam = br_xrealloc(m->fam, m->cap * sizeof *m->fam);
	}
	m->fam[m->n++] = (struct family){ .name = br_xstrdup(family),
		.help = br_xstrdup(help), .kind = kind };
}

/* render_labels when the whole rendering surely fits: the same bytes,
 * without stdio (counters move once or twice per event). */
static void
render_labels_fast(char *buf, va_list ap)
{
	char *p = buf;
	const char *k, *v;

	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v == NULL)
			v = "";
		if (p != buf)
			*p++ = ',';
		size_t kl = strlen(k);
		memcpy(p, k, kl);
		p += kl;
		*p++ = '=';
		*p++ = '"';
		for (; *v; v++) {
			if (*v == '"' || *v == '\\')
				*p++ = '\\';
			*p++ = *v == '\n' ? ' ' : *v;
		}
		*p++ = '"';
	}
	*p = '\0';
}

/* Renders the NULL-terminated name/value pairs; values escaped as the
 * exposition format wants, and cut so a hostile value cannot grow it. */
static void
render_labels(char *buf, size_t size, va_list ap)
{
	size_t n = 0, need = 1;
	const char *k, *v;
	va_list aq;

	/* Worst case: a separator, the key, =, quotes, every byte escaped. */
	va_copy(aq, ap);
	while ((k = va_arg(aq, const char *)) != NULL) {
		v = va_arg(aq, const char *);
		need += strlen(k) + 4 + 2 * (v != NULL ? strlen(v) : 0);
	}
	va_end(aq);
	if (need + 4 < size) {
		render_labels_fast(buf, ap);
		return;
	}
	buf[0] = '\0';
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v == NULL)
			v = "";
		n += (size_t)snprintf(buf + n, size - n, "%s%s=\"",
		    n ? "," : "", k);
		for (; *v && n + 4 < size; v++) {
			if (*v == '"' || *v == '\\')
				buf[n++] = '\\';
			buf[n++] = *v == '\n' ? ' ' : *v;
		}
		n += (size_t)snprintf(buf + n, size - n, "\"");
		if (n >= size - 1)
			break;
	}
}

static struct series *
find_series(struct family *f, const char *labels, bool create)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->series[i].labels, labels) == 0)
			return &f->series[i];
	if (!create)
		return NULL;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->series = br_xrealloc(f->series, f->cap * sizeof *f->series);
	}
	f->series[f->n] = (struct series){ br_xstrdup(labels), 0 };
	return &f->series[f->n++];
}

static struct series *
lookup(struct br_metrics *m, const char *family, va_list ap, bool create)
{
	char labels[LABELS_MAX];
	struct family *f = find_family(m, family);

	if (f == NULL)
		return NULL;
	render_labels(labels, sizeof labels, ap);
	return find_series(f, labels, create);
}

void
br_metrics_add(struct br_metrics *m, const char *family, long long by, ...)
{
	va_list ap;
	va_start(ap, by);
	struct series *s = lookup(m, family, ap, true);
	va_end(ap);
	if (s != NULL)
		s->value += by;
}

void
br_metrics_set(struct br_metrics *m, const char *family, long long value, ...)
{
	va_list ap;
	va_start(ap, value);
	struct series *s = lookup(m, family, ap, true);
	va_end(ap);
	if (s != NULL)
		s->value = value;
}

long long
br_metrics_get(struct br_metrics *m, const char *family, ...)
{
	va_list ap;
	va_start(ap, family);
	struct series *s = lookup(m, family, ap, false);
	va_end(ap);
	return s != NULL ? s->value : 0;
}

long long
br_metrics_sum(struct br_metrics *m, const char *family)
{
	struct family *f = find_family(m, family);
	long long sum = 0;

	for (size_t i = 0; f != NULL && i < f->n; i++)
		sum += f->series[i].value;
	return sum;
}

struct strbuf {
	char *s;
	size_t n, cap;
};

static void
sb_printf(struct strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->n) {
			b->n += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (n > 0 ? (size_t)n : 0);
		b->s = br_xrealloc(b->s, b->cap);
	}
}

char *
br_metrics_render(struct br_metrics *m)
{
	struct strbuf b = { br_xmalloc(4096), 0, 4096 };

	b.s[0] = '\0';
	for (size_t i = 0; i < m->n; i++) {
		struct family *f = &m->fam[i];
		sb_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
		    f->name, f->kind == BR_COUNTER ? "counter" : "gauge");
		/* A family with no series yet still shows a zero, so that
		 * alerts on it do not start out as "no data". */
		if (f->n == 0)
			sb_printf(&b, "%s 0\n", f->name);
		for (size_t j = 0; j < f->n; j++) {
			struct series *s = &f->series[j];
			if (s->labels[0] != '\0')
				sb_printf(&b, "%s{%s} %lld\n", f->name, s->labels,
				    s->value);
			else
				sb_printf(&b, "%s %lld\n", f->name, s->value);
		}
	}
	return b.s;
}

json_t *
br_metrics_summary(struct br_metrics *m)
{
	json_t *o = json_object();

	for (size_t i = 0; i < m->n; i++) {
		const char *name = m->fam[i].name;
		if (strncmp(name, PREFIX, strlen(PREFIX)) == 0)
			name += strlen(PREFIX);
		json_object_set_new(o, name,
		    json_integer(br_metrics_sum(m, m->fam[i].name)));
	}
	return o;
}
