/** The repository object of GitHub's documented webhook payloads (trimmed), shared by the receiver tests. */
export const githubRepository = {
  id: 186853002,
  name: 'Hello-World',
  full_name: 'Codertocat/Hello-World',
  private: false,
  html_url: 'https://github.com/Codertocat/Hello-World',
  url: 'https://github.com/Codertocat/Hello-World',
  git_url: 'git://github.com/Codertocat/Hello-World.git',
  ssh_url: 'git@github.com:Codertocat/Hello-World.git',
  clone_url: 'https://github.com/Codertocat/Hello-World.git',
  svn_url: 'https://github.com/Codertocat/Hello-World',
  default_branch: 'main',
};

/** GitLab's push payload `project`, from its documentation's example. */
export const gitlabProject = {
  id: 15,
  name: 'Diaspora',
  web_url: 'http://example.com/mike/diaspora',
  git_ssh_url: 'git@example.com:mike/diaspora.git',
  git_http_url: 'http://example.com/mike/diaspora.git',
  namespace: 'Mike',
  path_with_namespace: 'mike/diaspora',
  default_branch: 'master',
  homepage: 'http://example.com/mike/diaspora',
  url: 'git@example.com:mike/diaspora.git',
  ssh_url: 'git@example.com:mike/diaspora.git',
  http_url: 'http://example.com/mike/diaspora.git',
};
