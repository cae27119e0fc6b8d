# Recipe for OpenSSH's sftp-server alone (sourced by tools/thirdparty.sh in the unpacked
# source): Dropbear has no SFTP server of its own and runs this one for the "sftp" subsystem,
# which today's scp and sftp clients use. It does no cryptography (the SSH server does), so it is
# built without OpenSSL, zlib, PAM, Kerberos or libedit; static against musl.
pkg=openssh
build() {
	run ./configure CC=musl-gcc CFLAGS="$cflags" LDFLAGS=-static --host=x86_64-linux-musl \
		--prefix=/ --libexecdir=/usr/libexec --without-openssl --without-zlib --without-pam \
		--without-selinux --without-kerberos5 --without-libedit --without-ldns \
		--without-security-key-builtin --with-sandbox=no --disable-lastlog --disable-utmp \
		--disable-utmpx --disable-wtmp --disable-wtmpx --disable-pututline --disable-pututxline \
		--without-stackprotect --without-hardening
	run make -j"$jobs" sftp-server
	mkdir -p "$dest/libexec"
	cp sftp-server "$dest/libexec/sftp-server"
	strip "$dest/libexec/sftp-server"
}
