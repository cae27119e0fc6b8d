# Recipe for the SSH server of remote rescue (sourced by tools/thirdparty.sh in the unpacked
# source): one static dropbearmulti (dropbear, dropbearkey, dropbearconvert, scp). Why Dropbear
# and not OpenSSH: docs/remote.md. Features are chosen at compile time in localoptions.h:
# passwords and PAM are compiled out (keys only), and so is everything that would make the
# server listen on more than its one port (remote forwarding, agent forwarding, X11).
pkg=dropbear
build() {
	cat > localoptions.h <<'OPT'
#define DROPBEAR_SVR_PASSWORD_AUTH 0
#define DROPBEAR_SVR_PAM_AUTH 0
#define DROPBEAR_SVR_REMOTETCPFWD 0
#define DROPBEAR_SVR_AGENTFWD 0
#define DROPBEAR_X11FWD 0
#define DROPBEAR_DSS 0
/* The "sftp" subsystem (today's scp and sftp use it) runs OpenSSH's sftp-server, built static
 * by third_party/recipes/sftp-server.sh. */
#define DROPBEAR_SFTPSERVER 1
#define SFTPSERVER_PATH "/usr/libexec/sftp-server"
#define DEFAULT_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
OPT
	run ./configure CC=musl-gcc CFLAGS="$cflags" LDFLAGS=-static --host=x86_64-linux-musl \
		--prefix=/ --disable-zlib --disable-syslog --disable-lastlog --disable-utmp \
		--disable-utmpx --disable-wtmp --disable-wtmpx --disable-pututline --disable-pututxline \
		--disable-harden
	run make -j"$jobs" PROGRAMS="dropbear dropbearkey dropbearconvert scp" MULTI=1 STATIC=1
	mkdir -p "$dest/sbin"
	cp dropbearmulti "$dest/sbin/dropbearmulti"
	strip "$dest/sbin/dropbearmulti"
}
