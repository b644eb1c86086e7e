"""Console sessions (工作台登录会话): staff signed in to the web console by a cookie."""
