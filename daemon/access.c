#include "access.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

void access_init(struct access_policy *p)
{
	struct group *g = getgrnam(FL_GROUP);

	p->own_uid = geteuid();
	p->group_exists = g != NULL;
	p->group = g ? g->gr_gid : (gid_t)-1;
}

bool access_allowed(const struct access_policy *p, uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups)
{
	if (uid == 0 || uid == p->own_uid)
		return true;
	if (!p->group_exists)
		return false;
	if (gid == p->group)
		return true;
	for (size_t i = 0; i < ngroups; i++)
		if (groups[i] == p->group)
			return true;
	return false;
}

bool access_peer_allowed(const struct access_policy *p, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t groups[256];
	socklen_t glen = sizeof(groups);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false; /* no credentials, no answers */
	/* SO_PEERGROUPS: the groups the peer had when it connected, read by the
	 * kernel; no /proc lookup that a pid reuse could fool. More groups than
	 * fit (ERANGE) fall back to the primary gid alone. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen))
		glen = 0;
	return access_allowed(p, cred.uid, cred.gid, groups, glen / sizeof(gid_t));
}

int access_chown_socket(const struct access_policy *p, const char *path)
{
	if (!p->group_exists)
		return 0;
	if (chown(path, (uid_t)-1, p->group)) {
		int e = errno;

		log_warn("cannot give %s to group %s: %s; only root and the daemon's user can query it", path,
			 FL_GROUP, strerror(e));
		return -e;
	}
	return 0;
}
