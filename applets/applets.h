/* Every lifeboat command: `lifeboat NAME args`, or the binary called as NAME. */
#ifndef LB_APPLETS_H
#define LB_APPLETS_H

int boot_main(int argc, char **argv);
int check_main(int argc, char **argv);
int init_main(int argc, char **argv);
int devices_main(int argc, char **argv);
int menu_main(int argc, char **argv);
int enter_main(int argc, char **argv);
int unlock_main(int argc, char **argv);
int modprobe_main(int argc, char **argv);
int remote_main(int argc, char **argv);
int scan_main(int argc, char **argv);

#endif
