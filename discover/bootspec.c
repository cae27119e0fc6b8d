#include "discover/bootspec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "discover/json.h"
#include "lib/util.h"

static int field(const struct json *doc, const char *key, int required, char **out,
		 const char **err)
{
	const struct json *v = json_get(doc, key);
	if (!v) {
		if (required) {
			*err = "a required field is missing";
			return -EINVAL;
		}
		return 0;
	}
	if (v->type == JSON_NULL && !required)
		return 0;
	if (v->type != JSON_STRING) {
		*err = "a field is not a string";
		return -EINVAL;
	}
	*out = xstrdup(v->str);
	return 0;
}

int bootspec_parse(struct bootspec *b, const char *text, size_t len, const char **err)
{
	memset(b, 0, sizeof(*b));
	const char *dummy;
	if (!err)
		err = &dummy;
	struct json *root = json_parse(text, len, err, NULL);
	if (!root)
		return -EINVAL;
	int r = -EINVAL;
	const struct json *doc = json_get(root, "org.nixos.bootspec.v1");
	if (!doc || doc->type != JSON_OBJECT) {
		*err = "no org.nixos.bootspec.v1 object";
		goto out;
	}
	if (field(doc, "kernel", 1, &b->kernel, err) < 0 || field(doc, "init", 1, &b->init, err) < 0 ||
	    field(doc, "initrd", 0, &b->initrd, err) < 0 || field(doc, "label", 1, &b->label, err) < 0 ||
	    field(doc, "system", 1, &b->system, err) < 0 ||
	    field(doc, "toplevel", 1, &b->toplevel, err) < 0 ||
	    field(doc, "initrdSecrets", 0, &b->initrd_secrets, err) < 0)
		goto out;
	const struct json *kp = json_get(doc, "kernelParams");
	if (!kp || kp->type != JSON_ARRAY) {
		*err = "kernelParams is not an array";
		goto out;
	}
	size_t total = 1;
	for (int i = 0; i < kp->n; i++) {
		if (kp->vals[i]->type != JSON_STRING) {
			*err = "kernelParams holds a non-string";
			goto out;
		}
		total += strlen(kp->vals[i]->str) + 1;
	}
	char *w = b->params = xmalloc(total);
	for (int i = 0; i < kp->n; i++) {
		size_t l = strlen(kp->vals[i]->str);
		if (i)
			*w++ = ' ';
		memcpy(w, kp->vals[i]->str, l);
		w += l;
	}
	*w = 0;
	r = 0;
out:
	json_free(root);
	if (r < 0)
		bootspec_free(b);
	return r;
}

void bootspec_free(struct bootspec *b)
{
	free(b->kernel);
	free(b->initrd);
	free(b->init);
	free(b->label);
	free(b->system);
	free(b->toplevel);
	free(b->initrd_secrets);
	free(b->params);
	memset(b, 0, sizeof(*b));
}
