/* Who may query faultlined: root, the daemon's own user, and members of the
 * "faultline" group. The socket's mode (0660 root:faultline) is the first
 * gate; this check on the peer's credentials (SO_PEERCRED, SO_PEERGROUPS)
 * is the second, so a socket with looser permissions (a --socket in /tmp, a
 * chmod) still does not open the daemon to everyone. */
#ifndef FAULTLINE_ACCESS_H
#define FAULTLINE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FL_GROUP "faultline"

struct access_policy {
	uid_t own_uid;      /* the daemon's effective uid */
	gid_t group;        /* gid of FL_GROUP */
	bool group_exists;  /* false: only root and own_uid are allowed */
};

/* Looks up FL_GROUP; a missing group is not an error. */
void access_init(struct access_policy *p);

/* The decision, pure: uid, primary gid and supplementary groups of the peer. */
bool access_allowed(const struct access_policy *p, uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups);

/* Reads the peer's credentials from a connected socket and decides. */
bool access_peer_allowed(const struct access_policy *p, int fd);

/* Gives a socket the daemon bound itself to FL_GROUP (mode stays 0660), as
 * faultlined.socket does with SocketGroup=. Returns 0 or -errno. */
int access_chown_socket(const struct access_policy *p, const char *path);

#endif
