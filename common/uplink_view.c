// SPDX-License-Identifier: MIT
#include "uplink_view.h"

const struct mps_ip *mps_uplink_view_addr(const struct mps_uplink_view *v, int family)
{
	const struct mps_uplink_side *s = &v->side[mps_uplink_side_of(family)];

	return s->installed && s->addr.family ? &s->addr : NULL;
}

bool mps_uplink_view_owns(const struct mps_uplink_view *v, const struct sockaddr_storage *ss)
{
	struct mps_ip ip;

	if (!mps_ip_from_sockaddr(&ip, (const struct sockaddr *)ss))
		return false;
	for (int k = 0; k < MPS_UPLINK_SIDES; k++)
		if (v->side[k].installed && mps_ip_equal(&v->side[k].addr, &ip))
			return true;
	return false;
}

const struct mps_uplink_view *mps_uplink_view_owner(const struct mps_uplink_view *views, size_t n,
						    const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < n; i++)
		if (mps_uplink_view_owns(&views[i], ss))
			return &views[i];
	return NULL;
}
