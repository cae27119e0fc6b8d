/* `lifeboat boot`: load a kernel for kexec and ask PID 1 for the jump.
 *
 *   lifeboat boot --installer [--dry-run]
 *   lifeboat boot --system ID|HOST|UUID=..|LABEL=..|/dev/.. [--generation N] [--profile NAME]
 *                 [--specialisation NAME] [--cmdline '...' | --append '...'] [--dry-run]
 *   lifeboat boot --kernel K [--initrd I] --cmdline C [--dry-run]
 *
 * Exit 0: loaded and PID 1 signalled (or, with --dry-run, everything checked). Otherwise one
 * paragraph on stderr says what failed and what it means, and the running system goes on. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/layout.h"
#include "act/kexec_generation.h"
#include "act/bootplan.h"
#include "act/kexec.h"
#include "applets/applets.h"
#include "discover/luks.h"
#include "lib/log.h"
#include "lib/escape.h"
#include "lib/util.h"
#include "report/store.h"

enum { EXIT_USAGE = 2, EXIT_NOTFOUND = 3, EXIT_MEMORY = 4, EXIT_LOAD = 5, EXIT_SIGNAL = 6 };

static void usage(void)
{
	fprintf(stderr,
		"usage: lifeboat boot --installer [--dry-run]\n"
		"       lifeboat boot --system ID|HOST|UUID=..|LABEL=..|/dev/.. [--generation N]\n"
		"                     [--profile NAME] [--specialisation NAME]\n"
		"                     [--cmdline '...' | --append '...'] [--dry-run]\n"
		"       lifeboat boot --kernel FILE [--initrd FILE] --cmdline '...' [--dry-run]\n"
		"--load-only loads without asking PID 1 to jump; --expect KEY (the menu passes it)\n"
		"refuses a --system that is no longer the system KEY names.\n");
}

static void say_size(const char *what, const char *path, off_t size)
{
	char esc[200];
	if (size < (1 << 20))
		printf("  %-8s%s (%lld KiB)\n", what, term_escape(path, esc, sizeof(esc), 150),
		       ((long long)size + 1023) / 1024);
	else
		printf("  %-8s%s (%.1f MiB)\n", what, term_escape(path, esc, sizeof(esc), 150),
		       (double)size / (1 << 20));
}

static void show(const struct boot_plan *p)
{
	char esc[4200];
	printf("lifeboat boot: %s\n", term_escape(p->name, esc, sizeof(esc), 150));
	say_size("kernel", p->kernel_path, p->kernel_size);
	if (p->initrd_fd >= 0)
		say_size("initrd", p->initrd_path, p->initrd_size);
	else
		printf("  %-8s(none)\n", "initrd");
	printf("  %-8s%s\n", "cmdline", term_escape(p->cmdline, esc, sizeof(esc), 4000));
	for (int i = 0; i < p->n_notes; i++)
		printf("  note: %s\n", p->notes[i]);
}

/* Say how much memory the load needs against MemAvailable; nonzero when it cannot fit. */
static int check_memory(const struct boot_plan *p)
{
	unsigned long long need = kexec_mem_need((unsigned long long)p->kernel_size,
						 (unsigned long long)(p->initrd_fd >= 0 ? p->initrd_size : 0));
	char *text;
	long long avail = -ENOENT;
	if (read_file_at(AT_FDCWD, "/proc/meminfo", 1 << 16, &text) >= 0) {
		avail = meminfo_available(text);
		free(text);
	}
	if (avail < 0) {
		printf("  memory  needs about %llu MiB (MemAvailable unknown: not checked)\n", need >> 20);
		return 0;
	}
	unsigned long long missing = kexec_mem_missing((unsigned long long)avail, need);
	printf("  memory  needs about %llu MiB, %llu MiB available\n", need >> 20,
	       (unsigned long long)avail >> 20);
	if (!missing)
		return 0;
	fprintf(stderr,
		"lifeboat boot: not enough memory to load %s: the load needs about %llu MiB (the "
		"kernel and initrd are held twice while loading, plus %llu MiB for the running rescue "
		"system) but only %llu MiB is available, so %llu MiB is missing. Nothing was loaded. "
		"Free memory (remove files from /tmp, stop programs) or give the machine more RAM.\n",
		p->name, need >> 20, KEXEC_MEM_MARGIN >> 20, (unsigned long long)avail >> 20,
		(missing + (1 << 20) - 1) >> 20);
	return 1;
}

static char *running_cmdline(void)
{
	const char *env = getenv("LIFEBOAT_CMDLINE");
	if (env)
		return xstrdup(env);
	char *text;
	if (read_file_at(AT_FDCWD, "/proc/cmdline", 65536, &text) < 0)
		return xstrdup("");
	return rstrip(text);
}

static int run(struct boot_plan *p, int dry_run, int load_only)
{
	if (!p->exact_cmdline) {
		int added;
		char *running = running_cmdline();
		char *c = kexec_cmdline_consoles(p->cmdline, running, &added);
		free(running);
		free(p->cmdline);
		p->cmdline = c;
		if (added)
			bootplan_note(p, "console= added from lifeboat's own command line, so the boot shows "
				     "on this console");
	}
	show(p);
	unsigned long long need = 0;
	int k = kexec_check_kernel_fd(p->kernel_fd, &need);
	if (k < 0) {
		if (k == -EINVAL)
			fprintf(stderr,
				"lifeboat boot: cannot load %s. The kernel file is truncated: its header says "
				"it is %llu bytes long but the file has %llu. The copy is damaged (an "
				"interrupted write or a full disk); nothing was loaded.\n",
				p->name, need, (unsigned long long)p->kernel_size);
		else
			fprintf(stderr, "lifeboat boot: cannot read the kernel file %s: %s.\n", p->kernel_path,
				strerror(-k));
		return EXIT_LOAD;
	}
	if (check_memory(p))
		return EXIT_MEMORY;
	if (dry_run) {
		printf("lifeboat boot: dry run: nothing loaded.\n");
		return 0;
	}
	fflush(stdout);
	struct kexec_load_result res;
	int r = kexec_load_fds(p->kernel_fd, p->initrd_fd, p->cmdline, KEXEC_TOOLS_BIN, &res);
	if (r < 0) {
		char why[1024];
		kexec_explain(&res, r, why, sizeof(why));
		fprintf(stderr, "lifeboat boot: cannot load %s. %s\n", p->name, why);
		return EXIT_LOAD;
	}
	printf("lifeboat boot: loaded with %s.\n", res.used_tools ? "kexec-tools (kexec_load)" : "kexec_file_load");
	/* The disk must be unmounted before the jump: drop our private mounts now. */
	int free_payload = p->free_payload;
	bootplan_release(p);
	if (free_payload) {
		int fr = installer_free(INSTALLER_DIR);
		if (fr < 0)
			fprintf(stderr, "lifeboat boot: cannot free the installer files in %s: %s\n", INSTALLER_DIR,
				strerror(-fr));
		else
			printf("lifeboat boot: installer files freed from memory (the loaded copy stays).\n");
	}
	if (load_only) {
		printf("lifeboat boot: --load-only: not jumping; PID 1 jumps on signal %d (kill -%d 1).\n",
		       SIG_LB_KEXEC, SIG_LB_KEXEC);
		return 0;
	}
	if (luks_any_open("/sys"))
		printf("lifeboat boot: the unlocked LUKS devices are closed before the jump: the booted "
		       "system's initrd asks for their passphrases again.\n");
	printf("lifeboat boot: asking PID 1 to stop everything, unmount the disks and jump.\n");
	fflush(stdout);
	/* Test seam: LIFEBOAT_KEXEC_FAULT=nojump stands for a PID 1 that does not act on the
	 * request, so the menu's bounded wait after a boot can be seen. */
	const char *fault = getenv("LIFEBOAT_KEXEC_FAULT");
	if (fault && !strcmp(fault, "nojump"))
		return 0;
	if (kill(1, SIG_LB_KEXEC) < 0) {
		fprintf(stderr, "lifeboat boot: the kernel is loaded but PID 1 cannot be asked to jump "
				"(%s); run 'kill -%d 1' as root.\n", strerror(errno), SIG_LB_KEXEC);
		return EXIT_SIGNAL;
	}
	return 0;
}

int boot_main(int argc, char **argv)
{
	/* Into the shared log and dmesg; echoed on stderr only when a person is reading it. */
	log_open(isatty(2));
	static const struct option opts[] = {
		{"installer", no_argument, NULL, 'I'},
		{"system", required_argument, NULL, 's'},
		{"generation", required_argument, NULL, 'g'},
		{"profile", required_argument, NULL, 'P'},
		{"specialisation", required_argument, NULL, 'S'},
		{"specialization", required_argument, NULL, 'S'},
		{"cmdline", required_argument, NULL, 'c'},
		{"append", required_argument, NULL, 'a'},
		{"kernel", required_argument, NULL, 'k'},
		{"initrd", required_argument, NULL, 'i'},
		{"dry-run", no_argument, NULL, 'n'},
		{"load-only", no_argument, NULL, 'L'},
		{"expect", required_argument, NULL, 'E'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int installer = 0, dry_run = 0, load_only = 0;
	struct gen_select sel = {0};
	const char *cmdline = NULL, *append = NULL, *kernel = NULL, *initrd = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'I': installer = 1; break;
		case 's': sel.system = optarg; break;
		case 'g': sel.generation = optarg; break;
		case 'P': sel.profile = optarg; break;
		case 'S': sel.specialisation = optarg; break;
		case 'c': cmdline = optarg; break;
		case 'a': append = optarg; break;
		case 'k': kernel = optarg; break;
		case 'i': initrd = optarg; break;
		case 'n': dry_run = 1; break;
		case 'L': load_only = 1; break;
		case 'E': sel.expect = optarg; break;
		case 'h': usage(); return 0;
		default: usage(); return EXIT_USAGE;
		}
	}
	int modes = installer + !!sel.system + !!kernel;
	if (optind < argc || modes != 1 || (cmdline && append) || (kernel && !cmdline) ||
	    (installer && (cmdline || append || initrd)) || (!kernel && initrd) || (sel.expect && !sel.system)) {
		usage();
		return EXIT_USAGE;
	}
	struct boot_plan p;
	bootplan_init(&p);
	int r, code;
	if (installer) {
		r = bootplan_installer(&p, INSTALLER_DIR);
		if (r == -ENOENT && kexec_loaded()) {
			/* A first attempt loaded it and freed the files; the jump did not happen. */
			printf("lifeboat boot: the installer was loaded before and is still loaded.\n");
			bootplan_release(&p);
			if (dry_run || load_only)
				return 0;
			return kill(1, SIG_LB_KEXEC) < 0 ? EXIT_SIGNAL : 0;
		}
		if (r < 0) {
			fprintf(stderr, "lifeboat boot: cannot open the bundled installer in %s: %s. This "
					"image was built without an installer payload, or it was damaged.\n",
				INSTALLER_DIR, strerror(-r));
			bootplan_release(&p);
			return EXIT_NOTFOUND;
		}
	} else if (kernel) {
		r = bootplan_files(&p, kernel, initrd, cmdline);
		p.exact_cmdline = 1;
		if (r < 0) {
			fprintf(stderr, "lifeboat boot: cannot open %s: %s.\n",
				p.kernel_fd < 0 ? kernel : initrd, strerror(-r));
			bootplan_release(&p);
			return EXIT_NOTFOUND;
		}
	} else {
		char why[1024];
		if (!report_have_saved()) {
			printf("lifeboat boot: no scan report yet; scanning the disks (read-only)...\n");
			fflush(stdout);
		}
		r = bootplan_generation(&p, &sel, why, sizeof(why));
		if (r < 0) {
			fprintf(stderr, "lifeboat boot: %s\n", why);
			bootplan_release(&p);
			return EXIT_NOTFOUND;
		}
		if (cmdline) {
			free(p.cmdline);
			p.cmdline = xstrdup(cmdline);
			p.exact_cmdline = 1;
		} else if (append) {
			char *s = xasprintf("%s %s", p.cmdline, append);
			free(p.cmdline);
			p.cmdline = s;
		}
	}
	code = run(&p, dry_run, load_only);
	bootplan_release(&p);
	return code;
}
